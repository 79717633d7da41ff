"""How `tt watch` draws its model (ops.watch) with Rich: an agent table, a run lane and a footer.

Sized for 80×24 first: columns are fixed narrow widths and the task column takes what is left,
rows beyond the screen are cut (the selected row is always kept). Colour only marks state; with
`NO_COLOR` (Rich honours it) every state is still spelled out, so nothing depends on colour.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutti.ops.watch import RunRow, WatchModel

STATE_STYLE = {"working": "yellow", "idle": "green", "waiting": "bold magenta", "auth_failed": "bold red",
               "rate_limited": "bold red", "provider_down": "bold red", "stopped": "dim", "unknown": "dim"}
RUN_STYLE = {"running": "yellow", "succeeded": "green", "failed": "bold red", "cancelled": "dim",
             "interrupted": "magenta"}
KEYS = "↑↓ select  p peek  a attach  s send  A approve  L land  f failing  q quit"


def fmt_age(secs: float | None) -> str:
    if secs is None:
        return "-"
    secs = int(secs)
    if secs < 60:
        return f"{secs}s"
    if secs < 3600:
        return f"{secs // 60}m"
    if secs < 86400:
        return f"{secs // 3600}h{secs % 3600 // 60:02d}"
    return f"{secs // 86400}d"


def fmt_tokens(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n // 1000}k"
    return str(n)


def bar(done: int, total: int, width: int = 8) -> str:
    if total <= 0:
        return "·" * width
    filled = round(width * min(done, total) / total)
    return "█" * filled + "░" * (width - filled)


def build(model: WatchModel, *, selected: int, width: int, height: int, message: str = "",
          peek: list[str] | None = None, prompt: str | None = None) -> Any:
    from rich.console import Group
    from rich.text import Text

    now = datetime.now(UTC)
    lane = model.lane()
    peek = peek or []
    # Rows: title 1, agent header 1, run header 1 (+ runs), footer 2, peek (+1 rule).
    fixed = 1 + 1 + 2 + (1 + len(lane) if lane else 0) + (len(peek) + 1 if peek else 0)
    room = max(1, height - fixed)
    title = Text.assemble(("tutti watch", "bold"), f" · {model.ws.name} · {len(model.agents)} agents")
    if model.approvals_pending:
        title.append(" · ").append(f"{model.approvals_pending} approval(s) pending", style="bold magenta")
    if model.failing():
        title.append(" · ").append(f"failing: {', '.join(model.failing())}", style="bold red")
    title.truncate(width, overflow="ellipsis")
    parts: list[Any] = [title, _agents(model, selected, width, room, now)]
    if lane:
        parts.append(_runs(lane, width))
    if peek:
        parts.append(Text("── peek " + "─" * max(0, width - 8), style="dim"))
        parts.extend(Text(line[:width]) for line in peek)
    footer = Text(f"send ▶ {prompt}█" if prompt is not None else (message or ""), style="bold" if prompt else "")
    footer.truncate(width, overflow="ellipsis")
    keys = Text(KEYS, style="dim")
    keys.truncate(width, overflow="ellipsis")
    parts += [footer, keys]
    return Group(*parts)


def _agents(model: WatchModel, selected: int, width: int, room: int, now: datetime) -> Any:
    from rich import box
    from rich.table import Table

    from tutti.ops.watch import age_secs

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1), expand=True,
                  show_header=True, header_style="bold")
    table.add_column("agent", no_wrap=True, max_width=14)
    table.add_column("state", no_wrap=True, width=13)
    table.add_column("age", no_wrap=True, width=5, justify="right")
    table.add_column("ctx", no_wrap=True, width=4, justify="right")
    table.add_column("tok", no_wrap=True, width=5, justify="right")  # fmt_tokens: at most "12.3M"
    table.add_column("$", no_wrap=True, width=6, justify="right")
    table.add_column("plan", no_wrap=True, width=4)  # the original's PLAN: "MAX", "PRO", "API", "--"
    if width >= 100:
        table.add_column("profile", no_wrap=True, max_width=16)
    table.add_column("task", no_wrap=True, overflow="ellipsis", ratio=1)
    rows = list(model.agents.values())
    start = 0 if selected < room - 1 else selected - (room - 2)
    for i, row in enumerate(rows[start:start + max(1, room - 2)], start=start):
        ctx = "--" if row.context_used_pct is None else f"{int(row.context_used_pct)}%"
        cells = [("▶ " if i == selected else "  ") + row.agent, row.state.replace("_", " "),
                 fmt_age(age_secs(row.since, now)), ctx, fmt_tokens(row.tokens_today), f"{row.cost_today_usd:.2f}",
                 row.plan or "--"]
        if width >= 100:
            cells.append(row.profile or "-")
        cells.append(row.task or "")
        table.add_row(*cells, style=("reverse " if i == selected else "") + STATE_STYLE.get(row.state, ""))
    return table


def _runs(lane: list[RunRow], width: int) -> Any:
    from rich.text import Text

    lines = [Text("runs", style="bold")]
    for run in lane:
        where = run.current or run.failed_step or ""
        text = Text.assemble(f"{run.run_id[-10:]:<10} {str(run.workflow or '-')[:12]:<12} ",
                             (f"{run.status:<11}", RUN_STYLE.get(run.status, "")),
                             f"{bar(run.steps_done, run.steps_total)} {run.steps_done}/{run.steps_total} {where}")
        text.truncate(width, overflow="ellipsis")
        lines.append(text)
    from rich.console import Group

    return Group(*lines)

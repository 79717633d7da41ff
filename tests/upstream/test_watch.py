"""Port of the original's `src/cli/watch.rs` tests (@ 31a1f40). Its rotation-strategy tests are in
test_up.py and its auth-status test in test_health.py; what remains is the TUI's PLAN/CTX table,
asserted black-box on `tt watch --once` (the table as text) and `tt watch --once --json` (its rows)."""

from __future__ import annotations

import json

import pytest

PROFILE = '[[profile]]\nname = "api-main"\nprovider = "openai"\ncommand = "codex"\nplan = "{plan}"\n'
WS = ('[workspace]\nname = "ws"\n[workspace.auth]\ndefault_profile = "{profile}"\n'
      '[[agent]]\nname = "backend"\nruntime = "codex"\n[[agent]]\nname = "frontend"\nruntime = "codex"\n')


def _table(tt, root) -> list[list[str]]:
    """`tt watch --once` as a user sees it at 80 columns: the agent table's lines, split in cells."""
    out = tt("watch", "--once", cwd=root, env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert out.returncode == 0, out.stderr
    return [line.split() for line in out.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize(("plan", "profile", "label"), [("api", "api-main", "API"), ("max", "api-main", "MAX"),
                                                        ("  pro ", "api-main", "PRO"), ("   ", "api-main", "--"),
                                                        ("api", "missing", "--")])
def test_plan_label_per_agent(ws, tt, tt_json, global_config, plan, profile, label):
    """upstream: src/cli/watch.rs::tests::resolve_workspace_plan_label_uses_default_profile_plan,
    resolve_workspace_plan_label_returns_dash_when_unresolved, format_plan_label_uppercases_and_defaults,
    build_plan_cache_applies_workspace_plan_to_agents, build_plan_cache_defaults_to_dash_when_global_missing"""
    global_config(PROFILE.format(plan=plan))
    root = ws(WS.format(profile=profile))
    rc, view, err = tt_json("watch", "--once", cwd=root)
    assert rc == 0, err
    assert {r["agent"]: r["plan"] for r in view["agents"]} == {"backend": None if label == "--" else label,
                                                               "frontend": None if label == "--" else label}
    lines = _table(tt, root)
    rows = {cells[0]: cells for cells in lines if cells[0] in ("backend", "frontend")}
    col = next(cells for cells in lines if "plan" in cells).index("plan")
    assert {name: cells[col] for name, cells in rows.items()} == {"backend": label, "frontend": label}


def test_plan_label_dash_without_global_config(ws, tt_json):
    """upstream: build_plan_cache_defaults_to_dash_when_global_missing — no config.toml at all."""
    rc, view, err = tt_json("watch", "--once", cwd=ws(WS.format(profile="api-main")))
    assert rc == 0, err
    assert [r["plan"] for r in view["agents"]] == [None, None]


def test_watch_header_columns_include_plan_and_ctx(ws, tt, global_config):
    """upstream: src/cli/watch.rs::tests::watch_header_columns_include_plan_and_ctx — and CTX shows the
    context reading the watcher wrote to the agent's state file ("--" when there is none)."""
    global_config(PROFILE.format(plan="max"))
    root = ws(WS.format(profile="api-main"))
    state = root / ".tutti" / "state"
    state.mkdir(parents=True, exist_ok=True)
    (state / "backend.json").write_text(json.dumps({"name": "backend", "context_used_pct": 42.0}), encoding="utf-8")
    lines = _table(tt, root)
    header = next(cells for cells in lines if "agent" in cells)
    upper = [h.upper() for h in header]
    assert "PLAN" in upper and "CTX" in upper
    ctx, plan = upper.index("CTX"), upper.index("PLAN")
    rows = {cells[0]: cells for cells in lines if cells[0] in ("backend", "frontend")}
    assert (rows["backend"][ctx], rows["backend"][plan]) == ("42%", "MAX")
    assert (rows["frontend"][ctx], rows["frontend"][plan]) == ("--", "MAX")

"""A small library for classifying a captured agent screen with compiled regex rules.

A runtime's screen is read in regions rather than as one bag of substrings (the original's
flaw, inventory §12.3):

- `screen`: every visible line (no 6-line window: upstream #122);
- `turn`: the lines after the user's most recent submitted prompt — an error printed in an
  earlier turn is history, an error in the latest turn is the agent's current condition;
- `bottom`: the last few non-empty lines, where dialogs, spinners and footers live;
- `last_lines`: the last two non-empty lines only.

Failure rules (auth, rate limit, provider down) are matched against *logical* lines — a
terminal-wrapped error is joined back into one line — and should be anchored to error-line
shapes (`API Error: 401`, `■ unexpected status 401`) so ordinary code output that merely
contains "unauthorized" is not mistaken for a login failure.

Precedence: a live failure beats a dialog, a dialog (waiting) beats working, working beats
the idle prompt chrome. Within failures the one printed lowest on the screen wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from tutti.runtimes.base import AgentState, Detection

WHERE = ("screen", "turn", "bottom", "last_lines")
BOTTOM_LINES = 8

# Leading decoration an error line may carry in the various TUIs: bullets, tree glyphs,
# box sides. Failure patterns start after it, so they are anchored to a line start.
LEAD = r"^[\s●⏺⎿■✕✗×•└│>❯›*·-]*"

# States in precedence order (index 0 wins).
PRECEDENCE: tuple[AgentState, ...] = (
    AgentState.AUTH_FAILED,
    AgentState.RATE_LIMITED,
    AgentState.PROVIDER_DOWN,
    AgentState.WAITING,
    AgentState.WORKING,
    AgentState.IDLE,
)
FAILURES = (AgentState.AUTH_FAILED, AgentState.RATE_LIMITED, AgentState.PROVIDER_DOWN)


@dataclass(frozen=True)
class Rule:
    """One regex that, when it matches in `where`, is evidence for `state`."""

    state: AgentState
    pattern: str
    where: str = "screen"
    name: str | None = None  # evidence label; defaults to the pattern
    flags: int = re.IGNORECASE | re.MULTILINE

    def __post_init__(self) -> None:
        if self.where not in WHERE:
            raise ValueError(f"rule where must be one of {WHERE}, not {self.where!r}")
        object.__setattr__(self, "state", AgentState(self.state))
        object.__setattr__(self, "_rx", re.compile(self.pattern, self.flags))

    @property
    def regex(self) -> re.Pattern[str]:
        return self._rx  # type: ignore[attr-defined]

    @property
    def label(self) -> str:
        return f"{self.state.value}:{self.name or self.pattern}"


@dataclass
class Screen:
    """A captured pane split into the regions rules look at."""

    lines: list[str]
    turn_start: int = 0
    bottom_lines: int = BOTTOM_LINES
    _cache: dict = field(default_factory=dict, repr=False)  # region/logical results per screen

    @classmethod
    def parse(cls, text: str, *, prompt_echo: re.Pattern[str] | None = None,
              composer_lines: int = 0, bottom_lines: int = BOTTOM_LINES) -> Screen:
        lines = [ln.rstrip().replace("\u00a0", " ") for ln in text.replace("\r", "").split("\n")]
        while lines and not lines[-1].strip():
            lines.pop()
        screen = cls(lines=lines, bottom_lines=bottom_lines)
        if prompt_echo is not None:
            screen.turn_start = find_turn_start(lines, prompt_echo, composer_lines)
        return screen

    def region(self, where: str) -> list[tuple[int, str]]:
        """(line index, text) pairs of a region."""
        key = ("region", where)
        if key not in self._cache:
            self._cache[key] = self._region(where)
        return self._cache[key]

    def _region(self, where: str) -> list[tuple[int, str]]:
        if where == "screen":
            return list(enumerate(self.lines))
        if where == "turn":
            return [(i, self.lines[i]) for i in range(self.turn_start, len(self.lines))]
        nonempty = [(i, ln) for i, ln in enumerate(self.lines) if ln.strip()]
        if where == "bottom":
            return nonempty[-self.bottom_lines:]
        return nonempty[-2:]

    def logical(self, where: str) -> list[tuple[int, str]]:
        """Like `region`, but lines the terminal wrapped are joined back together.

        A line counts as wrapped when it is long (≥ 80 columns) and the next one is indented
        continuation text; the joined line keeps the index of its first physical line.
        """
        key = ("logical", where)
        if key not in self._cache:
            self._cache[key] = self._logical(where)
        return self._cache[key]

    def _logical(self, where: str) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        for i, ln in self.region(where):
            if out and _is_continuation(out[-1][1], ln) and out[-1][0] + _count_joined(out[-1]) == i:
                idx, prev = out[-1]
                out[-1] = (idx, prev + "\x00" + ln.strip())
            else:
                out.append((i, ln))
        return [(i, t.replace("\x00", " ")) for i, t in out]


def _is_continuation(prev: str, line: str) -> bool:
    last = prev.split("\x00")[-1]
    return len(last) >= 80 and bool(line) and line[:1] == " " and bool(line.strip())


def _count_joined(item: tuple[int, str]) -> int:
    return item[1].count("\x00") + 1


def find_turn_start(lines: Sequence[str], prompt_echo: re.Pattern[str], composer_lines: int) -> int:
    """Index just after the most recent submitted-prompt echo line (0 if there is none).

    Echo-looking lines among the last `composer_lines` non-empty lines are the input box
    itself (text typed but not yet submitted), not a submitted prompt.
    """
    nonempty = [i for i, ln in enumerate(lines) if ln.strip()]
    composer = set(nonempty[-composer_lines:]) if composer_lines else set()
    for i in range(len(lines) - 1, -1, -1):
        if i in composer:
            continue
        if prompt_echo.search(lines[i]):
            return i + 1
    return 0


@dataclass
class Classifier:
    """Rules plus the screen-shape knowledge of one runtime."""

    rules: list[Rule]
    prompt_echo: str | None = None  # regex of a submitted prompt line (turn boundary)
    composer_lines: int = 0
    bottom_lines: int = BOTTOM_LINES
    context_pct: Callable[[Screen], float | None] | None = None
    extra: list[Callable[[Screen], tuple[AgentState, str, str | None] | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._echo = re.compile(self.prompt_echo, re.MULTILINE) if self.prompt_echo else None

    def classify(self, text: str) -> Detection:
        screen = Screen.parse(text, prompt_echo=self._echo, composer_lines=self.composer_lines,
                              bottom_lines=self.bottom_lines)
        hits = list(self.evaluate(screen))
        for fn in self.extra:
            found = fn(screen)
            if found is not None:
                state, label, detail = found
                hits.append(_Hit(state, label, len(screen.lines), detail))
        ctx = self.context_pct(screen) if self.context_pct else None
        return decide(hits, ctx)

    def evaluate(self, screen: Screen) -> Iterable[_Hit]:
        for rule in self.rules:
            region = screen.logical(rule.where) if rule.state in FAILURES else screen.region(rule.where)
            for idx, line in reversed(region):
                m = rule.regex.search(line)
                if m:
                    detail = line.strip() if rule.state in FAILURES else None
                    yield _Hit(rule.state, rule.label if rule.name else _evidence(rule, m), idx, detail)
                    break


_LEAD_RX = re.compile(LEAD)


def _evidence(rule: Rule, m: re.Match[str]) -> str:
    """`state:matched text` — the words that matched, not the regex, so evidence reads well."""
    text = _LEAD_RX.sub("", m.group(0), count=1).strip() or m.group(0).strip()
    if len(text) > 48:
        text = text[:47] + "…"
    return f"{rule.state.value}:{text}"


@dataclass
class _Hit:
    state: AgentState
    label: str
    line: int
    detail: str | None = None


CONFIDENCE = {
    AgentState.AUTH_FAILED: 0.95,
    AgentState.RATE_LIMITED: 0.9,
    AgentState.PROVIDER_DOWN: 0.9,
    AgentState.WAITING: 0.9,
    AgentState.WORKING: 0.9,
    AgentState.IDLE: 0.85,
}


def decide(hits: list[_Hit], context_used_pct: float | None = None) -> Detection:
    """Pick the winning state by precedence; the lowest failure line on screen wins."""
    if not hits:
        return Detection(AgentState.UNKNOWN, 0.0, [], context_used_pct=context_used_pct)
    failures = [h for h in hits if h.state in FAILURES]
    if failures:
        best = max(failures, key=lambda h: (h.line, -PRECEDENCE.index(h.state)))
    else:
        best = min(hits, key=lambda h: PRECEDENCE.index(h.state))
    same = [h.label for h in hits if h.state is best.state]
    others = [h.label for h in hits if h.state is not best.state]
    confidence = min(0.99, CONFIDENCE[best.state] + 0.03 * (len(same) - 1))
    return Detection(best.state, confidence, same + others, detail=best.detail,
                     context_used_pct=context_used_pct)


# -- context window ------------------------------------------------------------------------------
_LEFT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%\s*(?:of\s+)?(?:context\s+)?(?:window\s+)?left", re.IGNORECASE)
_LEFT_UNTIL = re.compile(r"context left until auto-compact:\s*(\d{1,3}(?:\.\d+)?)\s*%", re.IGNORECASE)
_USED = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%\s*(?:of\s+)?(?:context\s+)?(?:window\s+)?used", re.IGNORECASE)
_CTX_USED = re.compile(r"context(?:\s+used)?:?\s*(\d{1,3}(?:\.\d+)?)\s*%", re.IGNORECASE)


def context_used_pct(screen: Screen, lines: int = 6) -> float | None:
    """Context window *used*, in percent, from the footer lines.

    Claude and Codex print what is *left* ("68% left", "Context left until auto-compact:
    12%"); we normalise to used = 100 − left so thresholds mean one thing everywhere.
    """
    tail = [ln for _, ln in screen.region("screen") if ln.strip()][-max(lines, 1):]
    for line in reversed(tail):
        m = _LEFT_UNTIL.search(line) or _LEFT.search(line)
        if m:
            left = float(m.group(1))
            if left <= 100:
                return round(100.0 - left, 1)
        m = _USED.search(line) or _CTX_USED.search(line)
        if m and float(m.group(1)) <= 100:
            return float(m.group(1))
    return None


def rules(state: AgentState | str, where: str, *patterns: str) -> list[Rule]:
    """Several rules of one state and region."""
    return [Rule(AgentState(state), p, where) for p in patterns]

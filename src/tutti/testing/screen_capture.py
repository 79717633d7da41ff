"""Capture what the real agent CLIs show when the provider fails, and check we classify it.

For each CLI (Claude Code, Codex, Gemini CLI, Aider) × failure the scripted model server can
produce × position (`first`: the session's first turn fails; `later`: a turn fails after a
successful one), the sweep starts the CLI under `tt up` in a private tmux server, makes the
server fail, sends a prompt, polls the agent's state the way `tt status` does (screen +
structured signal) until it is the expected state or the patience runs out, and records:

- `<cli>/<failure>_<position>.txt`: the visible screen at that moment;
- `<cli>/<failure>_<position>.json`: expected and detected state, source, evidence, latency,
  what the server answered;
- the structured signal beside it: `.state.json` (Claude's live session file), `.rollout.jsonl`
  (Codex's rollout tail), `.telemetry.json` (Gemini's API telemetry records).

`classify_capture` re-classifies a recorded capture offline from those files — the unit test
does it for every capture, so a rule change that breaks one is caught without the CLIs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CLIS = ("claude-code", "codex", "gemini-cli", "aider")
BINARIES = {"claude-code": "claude", "codex": "codex", "gemini-cli": "gemini", "aider": "aider"}
MODELS = {"claude-code": "claude-test", "codex": "fake-model", "gemini-cli": "gemini-2.5-flash", "aider": "fake-model"}
POSITIONS = ("first", "later")

# failure name -> (server mode, expected state). Quota is `rate_limited` (the adapters have no
# quota state; the detail line says "quota"/"credit"). A context overflow is `waiting`: the
# agent cannot go on until someone compacts, clears or hands off — retrying or another profile
# does not help, and it is not the provider's fault.
FAILURES: dict[str, tuple[dict[str, Any], str]] = {
    "auth_401": ({"kind": "auth"}, "auth_failed"),
    "auth_403": ({"kind": "auth", "status": 403}, "auth_failed"),
    "rate_limit_retry_after": ({"kind": "rate_limit", "retry_after": "20"}, "rate_limited"),
    "rate_limit": ({"kind": "rate_limit"}, "rate_limited"),
    "quota": ({"kind": "quota"}, "rate_limited"),
    "server_error_500": ({"kind": "server_error"}, "provider_down"),
    "unavailable_503": ({"kind": "unavailable"}, "provider_down"),
    "overloaded_529": ({"kind": "overloaded"}, "provider_down"),
    # A stream that starts, stalls, and is dropped 15 s later (a proxy's idle timeout): a stream
    # that hangs for ever shows as working until the CLI's own idle timeout (minutes), see README.
    "hung_stream": ({"kind": "stall", "hang_secs": 15}, "provider_down"),
    "malformed_stream": ({"kind": "malformed"}, "provider_down"),
    "context_exceeded": ({"kind": "context"}, "waiting"),
}

# Each CLI's own knobs, so a hung stream surfaces within the sweep's patience (their defaults
# wait 5-10 minutes). Retry counts stay at the defaults: the retry banners are what users see.
AGENT_ENV = {
    "claude-code": {"API_TIMEOUT_MS": "15000", "CLAUDE_CODE_MAX_RETRIES": "2"},
    "aider": {"AIDER_TIMEOUT": "15"},
    "gemini-cli": {},
    "codex": {},
}
CODEX_PROVIDER = {"stream_idle_timeout_ms": 15000}
PATIENCE_SECS = 120.0
SETTLE_SECS = 2.0  # the expected state must hold this long (a retry banner flickers between attempts)


def cli_bin_dir() -> Path | None:
    """Where scripts/install-agent-clis.sh put the CLIs (or None)."""
    cache = Path(os.environ.get("TUTTI_AGENT_CLIS_DIR") or Path.home() / ".cache" / "tutti-agent-clis")
    if all((cache / "bin" / b).exists() for b in BINARIES.values()):
        return cache / "bin"
    if all(shutil.which(b) for b in BINARIES.values()):
        return Path(shutil.which("claude") or "").parent
    return None


@dataclass
class Capture:
    cli: str
    failure: str
    position: str
    expected: str
    detected: str
    source: str
    latency_secs: float | None
    evidence: list[str] = field(default_factory=list)
    detail: str | None = None
    statuses: list[int] = field(default_factory=list)  # what the server answered, in order
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.detected == self.expected

    @property
    def stem(self) -> str:
        return f"{self.failure}_{self.position}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- offline classification ----------------------------------------------------------------------
def signal_detection(cli: str, base: Path):
    """The structured signal recorded next to a capture (`base` = path without suffix)."""
    if cli == "claude-code":
        from tutti.runtimes.signals.claude_state import read_state_file
        from tutti.runtimes.signals.claude_transcript import latest_api_error

        path, transcript = base.with_suffix(".state.json"), base.with_suffix(".transcript.jsonl")
        st = read_state_file(path) if path.is_file() else None
        if st is None:
            return None
        entry = latest_api_error(transcript) if st.status != "busy" and transcript.is_file() else None
        failed = entry.to_detection() if entry else None
        return failed or st.to_detection()
    if cli == "codex":
        from tutti.runtimes.signals.codex_rollout import read_rollout

        path = base.with_suffix(".rollout.jsonl")
        return read_rollout(path).to_detection() if path.is_file() else None
    if cli == "gemini-cli":
        from tutti.runtimes.signals.gemini_telemetry import failure_detection

        path = base.with_suffix(".telemetry.json")
        return failure_detection(path) if path.is_file() else None
    return None


def classify_capture(cli: str, screen_file: Path):
    """Screen + recorded structured signal → Detection, exactly as a live `tt status` merges them."""
    from tutti.runtimes.registry import get_adapter
    from tutti.runtimes.signals import merge

    screen = screen_file.read_text(encoding="utf-8")
    base = screen_file.with_suffix("")
    return merge(get_adapter(cli).classify(screen), signal_detection(cli, base))


def captured_files(root: Path) -> list[tuple[str, Path]]:
    """(cli, screen file) of every capture under `root` (tests/fixtures/screens/captured)."""
    out = []
    for cli_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        out += [(cli_dir.name, p) for p in sorted(cli_dir.glob("*.txt"))]
    return out


def scrub(text: str, scratch: Path) -> str:
    """Scratch paths out of recorded text, so fixtures do not depend on where they were made."""
    return text.replace(str(scratch), "<scratch>")


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain(text: str) -> str:
    return _ANSI.sub("", text)


# -- the live sweep ------------------------------------------------------------------------------
class Sweep:
    """Drive the real CLIs through failures; one shared model server, one workspace per capture."""

    def __init__(self, out_dir: Path, *, scratch: Path, patience: float = PATIENCE_SECS,
                 log=print) -> None:
        from tutti.testing.model_server import ScriptedModelServer

        bin_dir = cli_bin_dir()
        if bin_dir is None:
            raise RuntimeError("the agent CLIs are not installed: run scripts/install-agent-clis.sh")
        self.bin_dir = bin_dir
        self.out_dir = out_dir
        self.scratch = scratch
        self.patience = patience
        self.log = log
        self.server = ScriptedModelServer().start()
        self.home = scratch / "tutti-home"
        self.home.mkdir(parents=True, exist_ok=True)
        profiles = []
        for cli in CLIS:
            url = self.server.url if cli in ("claude-code", "gemini-cli") else self.server.base_url
            profiles.append(f'[[profile]]\nname = "{cli}"\nbase_url = "{url}"\nmodel = "{MODELS[cli]}"\n'
                            'api_key_env = "TUTTI_FAKE_KEY"\n')
        (self.home / "config.toml").write_text("\n".join(profiles), encoding="utf-8")

    def close(self) -> None:
        self.server.stop()

    def run(self, clis=CLIS, failures=tuple(FAILURES), positions=POSITIONS) -> list[Capture]:
        results = []
        for cli in clis:  # one CLI at a time: the machine is shared
            for failure in failures:
                try:
                    caps = self.capture(cli, failure, positions)
                except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
                    self.log(f"[capture] ERR {cli:<11} {failure}: {exc}")
                    continue  # the report lists it as missing; the next failure may still work
                for cap in caps:
                    mark = "ok " if cap.ok else "BAD"
                    self.log(f"[capture] {mark} {cli:<11} {cap.stem:<32} expected {cap.expected:<13} "
                             f"detected {cap.detected:<13} via {cap.source:<10} {cap.latency_secs}s")
                    results.append(cap)
        return results

    # -- one failure, both positions, one session where the CLI recovers -----------------------
    def capture(self, cli: str, failure: str, positions=POSITIONS) -> list[Capture]:
        """`first` fails the session's first turn; then the server recovers, a turn succeeds (in
        the same session if the CLI recovers by itself, else in a fresh one) and `later` fails
        the next turn — its screen may show the first failure above, as history."""
        live = _Live(self, cli, f"{cli}-{failure}")
        out: list[Capture] = []
        try:
            live.up()
            for position in positions:
                if position == "later" and not live.good_turn():
                    live.down()
                    live = _Live(self, cli, f"{cli}-{failure}-again")
                    live.up()
                    if not live.good_turn():
                        raise RuntimeError(f"{cli}: a normal turn does not finish idle")
                out.append(self._fail_once(live, failure, position))
                self.server.set_mode(None)
        finally:
            live.down()
            self.server.reset()
        return out

    def _fail_once(self, live: _Live, failure: str, position: str) -> Capture:
        mode, expected = FAILURES[failure]
        self.server.set_mode(dict(mode), times=0)
        started = time.monotonic()
        live.tt("send", "agent", "Summarise the README of this repository in one line", timeout=90)
        det, screen, latency = live.wait_for(expected, started, self.patience)
        cap = Capture(live.cli, failure, position, expected, det.state.value, det.source,
                      None if latency is None else round(latency, 2), list(det.evidence)[:6], det.detail,
                      [r.status for r in self.server.requests()][-12:])
        if latency is None:
            cap.note = f"not {expected} within {int(self.patience)}s"
        self._record(live, cap, screen)
        return cap

    def _record(self, live: _Live, cap: Capture, screen: str) -> None:
        folder = self.out_dir / cap.cli
        folder.mkdir(parents=True, exist_ok=True)
        base = folder / cap.stem
        for old in folder.glob(cap.stem + ".*"):
            old.unlink()
        (base.with_suffix(".txt")).write_text(scrub(screen, self.scratch) + "\n", encoding="utf-8")
        for suffix, text in live.signal_files().items():
            base.with_suffix(suffix).write_text(scrub(text, self.scratch), encoding="utf-8")
        meta = {k: (scrub(v, self.scratch) if isinstance(v, str) else v) for k, v in cap.to_dict().items()}
        base.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


class _Live:
    """One workspace with one agent running a real CLI in its own tmux server."""

    def __init__(self, sweep: Sweep, cli: str, name: str) -> None:
        self.sweep, self.cli = sweep, cli
        self.root = sweep.scratch / name / "repo"
        if self.root.parent.exists():
            shutil.rmtree(self.root.parent, ignore_errors=True)
        self.root.mkdir(parents=True)
        self.socket = f"tutti-cap-{uuid.uuid4().hex[:8]}"
        self.env = {**os.environ, "TUTTI_HOME": str(sweep.home), "TUTTI_TMUX_SOCKET": self.socket,
                    "TUTTI_FAKE_KEY": "sk-fake-0123456789abcdefghij",
                    "PATH": f"{sweep.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        self._init_repo(name)

    def _init_repo(self, name: str) -> None:
        for args in (["init", "-q", "-b", "main"], ["config", "user.name", "Tutti Capture"],
                     ["config", "user.email", "capture@tutti.invalid"], ["config", "commit.gpgsign", "false"]):
            subprocess.run(["git", *args], cwd=self.root, check=True)
        (self.root / "README.md").write_text("# demo\n\nA tiny repository for screen captures.\n")
        (self.root / ".gitignore").write_text(".tutti/\n")
        subprocess.run(["git", "add", "-A"], cwd=self.root, check=True)
        subprocess.run(["git", "commit", "-q", "-m", "initial"], cwd=self.root, check=True)
        env = "".join(f'{k} = "{v}"\n' for k, v in AGENT_ENV.get(self.cli, {}).items())
        (self.root / "tutti.toml").write_text(
            f'[workspace]\nname = "cap-{uuid.uuid4().hex[:10]}"\n\n[workspace.auth]\ndefault_profile = "{self.cli}"\n\n'
            f'[[agent]]\nname = "agent"\nruntime = "{self.cli}"\n' + (f"\n[agent.env]\n{env}" if env else ""))
        if self.cli == "codex":
            home = self.root / ".tutti" / "homes" / "agent" / ".codex"
            home.mkdir(parents=True)
            lines = "".join(f"{k} = {v}\n" for k, v in CODEX_PROVIDER.items())
            (home / "config.toml").write_text(f"[model_providers.tutti]\n{lines}", encoding="utf-8")

    def tt(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tutti", *args], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def up(self) -> None:
        r = self.tt("up", "agent", "--mode", "unattended", "--policy", "bypass")
        if r.returncode != 0:
            raise RuntimeError(f"tt up failed: {r.stdout}{r.stderr}")
        det, screen, took = self.wait_for("idle", time.monotonic(), 90)
        if took is None:
            raise RuntimeError(f"{self.cli} did not reach idle after tt up ({det.state.value}):\n{screen}")
        time.sleep(3)  # a CLI that just drew its prompt may still drop the first keys (Gemini CLI)

    def good_turn(self) -> bool:
        """A turn that succeeds; False if the CLI is not back to idle (still blocked on the last
        failure, e.g. a dialog) or the turn does not finish idle."""
        if not self.settled(45):
            return False
        r = self.tt("send", "agent", "--wait", "--idle-stable-secs", "2", "--timeout-secs", "90", "--json",
                    "Say OK", timeout=150)
        if r.returncode != 0:
            return False
        try:
            return json.loads(r.stdout).get("state") == "idle"
        except json.JSONDecodeError:
            return False

    def observe(self):
        """(detection, screen) — the same merge of screen and structured signal as `tt status`."""
        from tutti.runtimes.base import AgentState, Detection
        from tutti.runtimes.registry import adapter_for
        from tutti.sessions.tmux import TmuxBackend
        from tutti.workspace import load_workspace_at

        os.environ["TUTTI_TMUX_SOCKET"] = self.socket  # the adapter's pane-pid lookup reads it
        os.environ["TUTTI_HOME"] = str(self.sweep.home)
        if not hasattr(self, "_adapter"):
            self._ws = load_workspace_at(self.root)
            self._adapter = adapter_for(self._ws, "agent")
            self._backend = TmuxBackend(socket=self.socket)
        pane, screen = self._backend.snapshot(self._ws.session_name("agent"))
        if pane is None or pane.dead:
            return Detection(AgentState.STOPPED, 1.0, ["session:gone"]), screen or ""
        return self._adapter.classify(screen), screen

    def settled(self, patience: float) -> bool:
        """Idle, or showing a failure on a screen that stopped changing (the CLI gave up and
        is back at its prompt); False on a dialog or when it never settles."""
        started, last, since = time.monotonic(), None, time.monotonic()
        while time.monotonic() - started < patience:
            det, screen = self.observe()
            if det.state.value == "idle":
                return True
            if det.state.value == "waiting":
                return False
            if screen != last:
                last, since = screen, time.monotonic()
            elif det.state.is_failure and time.monotonic() - since >= 3:
                return True
            time.sleep(0.5)
        return False

    def wait_for(self, want: str, started: float, patience: float):
        """Poll until the state is `want` (and still is a second later): (det, screen, latency|None)."""
        det, screen = self.observe()
        while time.monotonic() - started < patience:
            det, screen = self.observe()
            if det.state.value == want:
                seen = time.monotonic() - started
                time.sleep(1.0)
                det2, screen2 = self.observe()
                if det2.state.value == want:
                    return det2, screen2, seen
            time.sleep(0.5)
        return det, screen, None

    def signal_files(self) -> dict[str, str]:
        """The structured signal of the runtime right now, as files next to the screen."""
        from tutti.runtimes.prepare import agent_home, gemini_telemetry_file

        home = agent_home(self._ws, "agent")
        if self.cli == "claude-code":
            return _claude_signal(home / ".claude", self._backend.pane_pid(self._ws.session_name("agent")))
        if self.cli == "codex":
            return _codex_signal(home / ".codex", self._ws.worktree_path("agent"))
        if self.cli == "gemini-cli":
            return _gemini_signal(gemini_telemetry_file(home))
        return {}

    def down(self) -> None:
        try:
            self.tt("down", timeout=60)
        finally:
            subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)


def _claude_signal(config_dir: Path, pane_pid: int | None) -> dict[str, str]:
    from tutti.runtimes.signals.claude_state import find_session_state, sessions_dir

    out: dict[str, str] = {}
    st = find_session_state(sessions_dir(config_dir), pane_pid) if pane_pid else None
    if st is not None:
        out[".state.json"] = st.path.read_text(encoding="utf-8")
    from tutti.runtimes.signals.claude_transcript import transcript_path

    path = transcript_path(config_dir, st.session_id) if st is not None and st.session_id else None
    if path is not None:  # prompts and answers only: attachments are long and say nothing here
        keep = [ln for ln in path.read_text(encoding="utf-8").splitlines()
                if '"type":"user"' in ln or '"type":"assistant"' in ln]
        out[".transcript.jsonl"] = "\n".join(keep[-20:]) + "\n"
    return out


def _codex_signal(codex_home: Path, workdir: Path) -> dict[str, str]:
    from tutti.runtimes.signals.codex_rollout import find_rollout

    path = find_rollout(codex_home, workdir)
    if path is None:
        return {}
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if '"event_msg"' in ln]
    return {".rollout.jsonl": "\n".join(lines[-40:]) + "\n"}


def _gemini_signal(telemetry: Path) -> dict[str, str]:
    if not telemetry.is_file():
        return {}
    text = telemetry.read_text(encoding="utf-8", errors="replace")
    records = []
    for chunk in ("\n" + text).split("\n{\n")[1:]:
        if '"gemini_cli.api_' not in chunk:
            continue
        try:
            records.append(json.loads("{\n" + chunk.rstrip().rstrip(",")))
        except json.JSONDecodeError:
            continue
    return {".telemetry.json": "".join(json.dumps(r, indent=2) + "\n" for r in records[-12:])} if records else {}


# -- reports -------------------------------------------------------------------------------------
def load_meta(root: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(root.glob("*/*.json"))
            if not p.name.endswith((".state.json", ".telemetry.json"))]


def check_recorded(root: Path, log=print) -> list[str]:
    """Re-classify every recorded capture offline; the names of those not as expected."""
    bad = []
    for cli, screen in captured_files(root):
        meta = json.loads(screen.with_suffix(".json").read_text(encoding="utf-8"))
        det = classify_capture(cli, screen)
        if det.state.value != meta["expected"]:
            bad.append(f"{cli}/{screen.stem}")
            log(f"[check] BAD {cli}/{screen.stem}: expected {meta['expected']}, classified {det.state.value} "
                f"({', '.join(det.evidence[:3])})")
    return bad


def write_results(root: Path) -> Path:
    """RESULTS.md: CLI × failure × position → state detected live (source, latency), the state
    the recorded capture classifies to now, and what the screen alone says (the fallback)."""
    from tutti.runtimes.registry import get_adapter

    lines = ["# Captured failure screens: what Tutti detects", "",
             "Generated by `scripts/capture_screens.py`. `live` is the state detected while the CLI ran "
             "(`source` decided it; `latency` = seconds from sending the prompt to detecting it), `now` the "
             "recorded capture re-classified by today's rules (screen + recorded structured signal), "
             "`screen alone` the screen rules without the structured signal.", "",
             "| CLI | failure | turn | expected | live | source | latency s | now | screen alone |",
             "|---|---|---|---|---|---|---|---|---|"]
    for cli, screen in captured_files(root):
        m = json.loads(screen.with_suffix(".json").read_text(encoding="utf-8"))
        now = classify_capture(cli, screen).state.value
        alone = get_adapter(cli).classify(screen.read_text(encoding="utf-8")).state.value
        cells = [m["cli"], m["failure"], m["position"], m["expected"], _mark(m["detected"], m["expected"]),
                 m["source"], "—" if m["latency_secs"] is None else str(m["latency_secs"]),
                 _mark(now, m["expected"]), _mark(alone, m["expected"])]
        lines.append("| " + " | ".join(cells) + " |")
    path = root / "RESULTS.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _mark(state: str, expected: str) -> str:
    return state if state == expected else f"{state} ✗"

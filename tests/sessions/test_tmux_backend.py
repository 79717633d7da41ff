"""TmuxBackend against a real, private tmux server."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import pytest
from tests.helpers import wait_until as _wait_until

from tutti.errors import AgentNotRunning, SessionError
from tutti.proctree import running
from tutti.sessions.tmux import TmuxBackend

# A bare tmux pane reacts fast: these conditions keep their 20 s budget, not the default 30.
wait_until = functools.partial(_wait_until, timeout=20.0)

# A tiny terminal program: enables bracketed paste like real agent CLIs, records each raw
# chunk it reads, and prints its environment variable of interest.
RECORDER = r"""
import os, sys, json, termios, tty
out = sys.argv[1]
fd = sys.stdin.fileno()
tty.setraw(fd)
sys.stdout.write("\x1b[?2004h" + "ready var=" + str(os.environ.get("PROBE_VAR") is not None) + "\r\n")
sys.stdout.flush()
with open(out, "ab") as fh:
    while True:
        data = os.read(fd, 65536)
        if not data:
            break
        fh.write(data)
        fh.flush()
"""


@pytest.fixture
def backend(tmux_socket) -> TmuxBackend:
    return TmuxBackend()


def start_recorder(backend: TmuxBackend, tmp_path: Path, name: str = "rec", env: dict | None = None) -> Path:
    raw = tmp_path / f"{name}.raw"
    raw.write_bytes(b"")
    backend.create(name, [sys.executable, "-c", RECORDER, str(raw)], cwd=tmp_path, env=env or {})
    wait_until(lambda: "ready" in backend.capture(name))
    return raw


def test_backend_uses_the_dedicated_socket(backend, tmux_socket):
    assert backend.argv("ls")[:3] == ["tmux", "-L", tmux_socket]


def test_create_runs_argv_in_a_fixed_200x50_window(backend, tmp_path):
    info = backend.create("fixed", ["sleep", "30"], cwd=tmp_path, env={})
    assert (info.width, info.height) == (200, 50)
    assert backend.exists("fixed") and "fixed" in backend.list()
    assert info.pid and not info.dead


def test_environment_reaches_the_process_but_never_the_screen(backend, tmp_path):
    secret = "sk-do-not-show-4242"
    out = tmp_path / "env.json"
    prog = f"import os, json; json.dump(dict(os.environ), open({str(out)!r}, 'w')); import time; time.sleep(30)"
    backend.create("envs", [sys.executable, "-c", prog], cwd=tmp_path, env={"MY_SECRET": secret})
    env = wait_until(lambda: out.exists() and out.stat().st_size and json.loads(out.read_text()))
    assert env["MY_SECRET"] == secret
    screen = backend.capture("envs", scrollback=1000)
    assert secret not in screen and "export" not in screen


def test_exact_session_targets_do_not_match_by_prefix(backend, tmp_path):
    backend.create("agent-2", ["sleep", "30"], cwd=tmp_path, env={})
    assert not backend.exists("agent")
    assert backend.pane("agent") is None
    assert backend.kill("agent") is False
    assert backend.exists("agent-2")


def test_multi_line_text_is_one_bracketed_paste_then_exactly_one_enter(backend, tmp_path):
    raw = start_recorder(backend, tmp_path)
    backend.send_text("rec", "line one\nline two\nline three", submit_delay=0.05)
    data = wait_until(lambda: raw.read_bytes().endswith(b"\r") and raw.read_bytes())
    assert data.startswith(b"\x1b[200~") and data.count(b"\x1b[200~") == 1
    body, _, after = data.partition(b"\x1b[201~")
    assert body[len(b"\x1b[200~"):].replace(b"\r", b"\n") == b"line one\nline two\nline three"
    assert after == b"\r"  # one Enter, no blind extras


def test_a_900_line_paste_arrives_intact(backend, tmp_path):
    raw = start_recorder(backend, tmp_path)
    text = "\n".join(f"line {i:04d} " + "x" * 60 for i in range(900))
    backend.send_text("rec", text)
    wait_until(lambda: raw.read_bytes().endswith(b"\x1b[201~\r"), timeout=30)
    body = raw.read_bytes()[len(b"\x1b[200~"):-len(b"\x1b[201~\r")]
    assert body.replace(b"\r", b"\n").decode() == text


def test_crashed_agent_leaves_a_dead_pane_with_its_last_screen(backend, tmp_path):
    backend.create("crash", ["sh", "-c", "echo 'fatal: model exploded'; sleep 1.5; exit 7"], cwd=tmp_path, env={})
    wait_until(lambda: "fatal: model exploded" in backend.capture("crash"))
    info = wait_until(lambda: (p := backend.pane("crash")) and p.dead and p)
    # tmux 3.3a loses the exit status of roughly one dead pane in four (#{pane_dead_status}
    # stays empty for good — reproducible with plain tmux), so a missing status is tmux's,
    # but a wrong one would be ours.
    assert info.dead_status in (7, None)
    assert "fatal: model exploded" in backend.capture("crash", scrollback=50)


def test_capture_includes_scrollback_on_request(backend, tmp_path):
    backend.create("long", ["sh", "-c", "seq 1 200; sleep 30"], cwd=tmp_path, env={})
    wait_until(lambda: "200" in backend.capture("long"))
    assert "\n1\n" not in "\n" + backend.capture("long") + "\n"
    assert "\n1\n" in "\n" + backend.capture("long", scrollback=500) + "\n"


def test_kill_removes_the_session(backend, tmp_path):
    backend.create("gone", ["sleep", "30"], cwd=tmp_path, env={})
    assert backend.kill("gone") is True
    assert not backend.exists("gone") and backend.pane("gone") is None


def test_creating_an_existing_session_is_an_error(backend, tmp_path):
    backend.create("dup", ["sleep", "30"], cwd=tmp_path, env={})
    with pytest.raises(SessionError):
        backend.create("dup", ["sleep", "30"], cwd=tmp_path, env={})


def test_sending_to_a_missing_session_raises_agent_not_running(backend):
    with pytest.raises(AgentNotRunning):
        backend.send_text("nobody", "hello")
    with pytest.raises(AgentNotRunning):
        backend.capture("nobody")


def test_list_is_empty_without_a_server(backend):
    assert backend.list() == [] and backend.panes() == {}


def test_attach_switches_client_inside_the_users_tmux_and_attaches_otherwise(monkeypatch):
    monkeypatch.setenv("TMUX", "/tmp/tmux-1/default,1,0")
    assert TmuxBackend(socket="").attach_argv("s") == ["tmux", "switch-client", "-t", "=s"]
    assert TmuxBackend(socket="priv").attach_argv("s") == ["tmux", "-L", "priv", "attach-session", "-t", "=s"]
    monkeypatch.delenv("TMUX")
    assert TmuxBackend(socket="").attach_argv("s") == ["tmux", "attach-session", "-t", "=s"]


def test_kill_ends_agent_processes_that_ignore_sighup(backend, tmp_path):
    # Node-based CLIs ignore the SIGHUP tmux sends on kill-session and would linger as orphans.
    pidfile = tmp_path / "child.pid"
    backend.create("stubborn", ["sh", "-c", f"trap '' HUP; sleep 300 & echo $! > {pidfile}; wait"],
                   cwd=tmp_path, env={})
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip())
    child = int(pidfile.read_text())
    assert backend.kill("stubborn") is True
    wait_until(lambda: not running(child), timeout=10, what="the SIGHUP-immune child to end")


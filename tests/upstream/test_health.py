"""Port of the original's health tests — `src/health/mod.rs` (@ 24e30bd) — and of its CI
"recovery smoke" (inventory §10): real tmux sessions printing what a failing CLI prints, watched by
our background supervisor (`python -m tutti.supervisor ROOT`), whose state-change events are the
original's probe transition events. Screen-noise tests run on `tutti.sessions.screen`."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow

HEAD = '[workspace]\nname = "ws"\n\n[defaults]\nworktree = false\nruntime = "codex"\n'


def agents(*names: str) -> str:
    return "".join(f'\n[[agent]]\nname = "{n}"\n' for n in names)


def session(socket: str, agent: str, script: str) -> None:
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", f"tutti-ws-{agent}", "-x", "200", "-y", "50",
                    "sh", "-c", script], check=True)


@pytest.fixture
def supervised(ws, tmux_socket):
    """supervised(toml, {agent: shell script}) -> (root, events()) with the supervisor running."""
    procs: list[subprocess.Popen] = []

    def _start(text: str, scripts: dict[str, str]):
        root = ws(text)
        for agent, script in scripts.items():  # `{go}`: a file the test creates to let the script go on
            session(tmux_socket, agent, script.replace("{go}", str(root / "go")))
        procs.append(subprocess.Popen([sys.executable, "-m", "tutti.supervisor", str(root)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        def events(kind: str | None = None, agent: str | None = None) -> list[dict]:
            from tutti.workspace import load_workspace_at

            rows = load_workspace_at(root).store.read_events(0, limit=10_000)
            return [{"kind": e.kind, "agent": e.agent, "data": e.data} for e in rows
                    if (kind is None or e.kind == kind) and (agent is None or e.agent == agent)]

        return root, events

    yield _start
    for p in procs:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def wait_for(events, kinds: list[tuple[str, str]], timeout: float = 45) -> list[dict]:
    """Wait until every (kind, agent) has been recorded; return all events."""
    deadline = time.monotonic() + timeout
    while True:
        seen = events()
        have = {(e["kind"], e["agent"]) for e in seen}
        if all(k in have for k in kinds) or time.monotonic() > deadline:
            missing = [k for k in kinds if k not in have]
            assert not missing, f"missing events {missing}; got {[(e['kind'], e['agent']) for e in seen]}"
            return seen
        time.sleep(0.1)


HOLD = "; sleep 120"


def test_ci_recovery_smoke_auth_rate_limit_provider_down(supervised, tt_json):
    """upstream: .github/workflows/ci.yml recovery smoke (inventory §10),
    src/health/mod.rs::tests::recovery_trigger_detects_rate_limit_and_provider_down_reason_prefixes,
    src/cli/watch.rs::tests::is_auth_failed_status_matches_prefix_case_insensitive,
    src/cli/doctor.rs::tests::auth_health_checks_map_auth_states,
    src/health/mod.rs (@ 0e7f20f)::tests::{classify_auth_failed, classify_rate_limited,
    classify_provider_down, classify_unknown}
    — sessions echoing `invalid_api_key`, `rate_limit_exceeded`, `service unavailable` become
    auth_failed / rate_limited / provider_down, with the events the CI greps for."""
    root, events = supervised(HEAD + agents("auth", "rate", "down", "other"), {
        "other": "printf 'random output with nothing recognizable\\n'" + HOLD,
        "auth": "printf 'Error: invalid_api_key - check your key\\n'" + HOLD,
        "rate": "printf 'Error: rate_limit_exceeded - try again later\\n'" + HOLD,
        "down": "printf 'upstream timeout while reaching provider\\nservice unavailable\\n'" + HOLD,
    })
    wait_for(events, [("agent.auth_failed", "auth"), ("agent.rate_limited", "rate"), ("agent.provider_down", "down")])
    rc, data, err = tt_json("status", cwd=root)
    assert rc == 0, err
    states = {row["agent"]: row for row in data}
    assert states["auth"]["state"] == "auth_failed" and "invalid_api_key" in states["auth"]["detail"]
    # src/cli/watch.rs::tests::is_auth_failed_status_matches_prefix_case_insensitive: the status label
    assert states["auth"]["status"].lower().startswith("auth failed")
    assert states["rate"]["state"] == "rate_limited" and "rate_limit" in states["rate"]["detail"]
    assert states["down"]["state"] == "provider_down"
    assert states["other"]["state"] == "unknown" and states["other"]["running"] is True
    # src/cli/doctor.rs::tests::auth_health_checks_map_auth_states: doctor's live auth checks
    _, doc, err = tt_json("doctor", cwd=root)
    checks = {c["check"]: c["status"] for c in doc["checks"]}
    assert (checks["auth/auth"], checks["auth/other"]) == ("fail", "pass")


def test_transition_events_activity_auth_and_running(supervised):
    """upstream: src/health/mod.rs::tests::transition_events_emits_activity_and_auth_changes,
    src/health/mod.rs::tests::transition_events_emits_running_changes,
    src/health/mod.rs (@ 0e7f20f)::tests::{classify_working, classify_idle_recent_output, classify_stopped}
    — working → idle, then an
    auth failure, then the session ends: agent.working, agent.idle, agent.auth_failed,
    agent.stopped (a stopped session is reported once)."""
    # The session shows an idle prompt until the watcher has reported it (so no phase is missed
    # however slowly the supervisor starts), then works, finishes, fails auth and exits.
    script = ("printf 'Done.\\n\\nWhat would you like to do?\\n'; while [ ! -f {go} ]; do sleep 0.1; done; clear; "
              "printf '⠋ Thinking...\\n'; sleep 2; clear; printf 'Done.\\n\\nWhat would you like to do?\\n'; sleep 3; "
              "printf 'Error: invalid_api_key - check your key\\n'; sleep 1")
    root, events = supervised(HEAD + agents("backend"), {"backend": script})
    wait_for(events, [("agent.idle", "backend")])
    (root / "go").touch()
    seen = wait_for(events, [("agent.working", "backend"), ("agent.auth_failed", "backend"),
                             ("agent.stopped", "backend")], timeout=60)
    order = [e["kind"] for e in seen if e["agent"] == "backend" and e["kind"].startswith("agent.")]
    working = order.index("agent.working")
    assert "agent.idle" in order[working:order.index("agent.auth_failed")]
    assert order.count("agent.stopped") == 1


def test_transition_events_emits_rate_limited_and_provider_recovered(supervised):
    """upstream: src/health/mod.rs::tests::transition_events_emits_rate_limited_and_provider_recovered
    (and the auth_failed → ok case of transition_events: `agent.auth_recovered`) — fixed here: our
    watcher reported only the new state (`agent.idle`), not the original's recovery events."""
    gate = "; while [ ! -f {go} ]; do sleep 0.1; done; clear; printf 'Done.\\n\\nWhat would you like to do?\\n'"
    root, events = supervised(HEAD + agents("rate", "auth"), {
        "rate": "printf 'Error: rate_limit_exceeded - try again later\\n'" + gate + HOLD,
        "auth": "printf 'Error: invalid_api_key - check your key\\n'" + gate + HOLD,
    })
    wait_for(events, [("agent.rate_limited", "rate"), ("agent.auth_failed", "auth")])
    (root / "go").touch()
    seen = wait_for(events, [("agent.provider_recovered", "rate"), ("agent.auth_recovered", "auth")])
    recovered = next(e for e in seen if e["kind"] == "agent.provider_recovered")
    assert recovered["data"]["from"] == "rate_limited"


FOOTER_A = ("╭" + "─" * 60 + "╮\n│ Model: GPT-5 | Context: 82% | 1200 tokens | Esc to interrupt │\n╰" + "─" * 60 + "╯")
FOOTER_B = FOOTER_A.replace("82%", "79%").replace("1200", "1320")


def test_hash_output_ignores_status_bar_redraw_noise():
    """upstream: src/health/mod.rs::tests::hash_output_ignores_status_bar_redraw_noise,
    src/health/mod.rs::tests::is_status_bar_noise_detects_runtime_footer_variants,
    src/health/mod.rs (@ 0e7f20f)::tests::hash_output_ignores_codex_status_and_footer_lines — a footer that
    only redraws its numbers is not new output; a changed line of work is."""
    from tutti.sessions.screen import body, pane_delta

    base = "Implementing first slice\nDone.\n"
    assert body(base + FOOTER_A) == body(base + FOOTER_B)
    assert pane_delta(base + FOOTER_A, base + FOOTER_B) == ""
    assert body(base + FOOTER_A) != body("Implementing first slice\nStill working.\n" + FOOTER_A)
    # src/health/mod.rs (@ 0e7f20f)::tests::hash_output_ignores_codex_status_and_footer_lines
    first = ("• The suite is still running.\n◦ Waiting for background terminal (38s • esc to interrupt)\n"
             "  gpt-5.4 high · 96% left · ~/repo\n")
    second = first.replace("38s", "52s").replace("96%", "95%")
    assert pane_delta(first, second) == "" and body(first) == body(second)
    for footer in ("Model: GPT-5 | Context: 58% | 892 tokens | Ctrl+C to stop",
                   "claude-opus | 73% context | Shift+Tab for history"):
        assert pane_delta(base + footer.replace("5", "6"), base + footer) == ""


def test_regular_pane_content_is_not_noise():
    """upstream: src/health/mod.rs::tests::is_status_bar_noise_does_not_match_regular_pane_content,
    src/health/mod.rs::tests::strip_status_bar_noise_preserves_non_footer_lines"""
    from tutti.sessions.screen import pane_delta

    before = "Plan next change\n"
    lines = ["Model evaluation finished at 82% branch coverage",
             "Esc to interrupt the deploy if the health check fails",
             "enter to submit the form once you finish reviewing payload.rs",
             "Build status: [########] 8/8 tasks complete"]
    after = before + "\n".join(lines) + "\n" + "\n".join(["", "", ""])
    delta = pane_delta(before, after)
    for line in lines:
        assert line in delta

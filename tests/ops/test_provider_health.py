"""`tt health` and `tt profiles`: provider health derived from what detection and the API-direct
providers recorded, with real tmux sessions watched by the real supervisor."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from tests.conftest import git
from tests.helpers import wait_until

from tutti.workspace import load_workspace_at

HOLD = "; sleep 120"


def _workspace(repo, body: str):
    (repo / "tutti.toml").write_text(textwrap.dedent(body))
    (repo / ".gitignore").write_text(".tutti/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "tutti.toml")
    return repo


def _health(tt, root, *extra: str) -> dict:
    out = tt("health", "--json", *extra, cwd=root)
    assert out.returncode == 0, out.stderr
    return {(h["provider"], h["profile"]): h for h in json.loads(out.stdout)}


@pytest.mark.slow
def test_a_rate_limited_agent_makes_its_provider_degraded_with_the_reset_time(git_repo, tmux_socket, tt):
    root = _workspace(git_repo, """
        [workspace]
        name = "hw"
        [defaults]
        worktree = false
        [[agent]]
        name = "rate"
        runtime = "codex"
        [[agent]]
        name = "fine"
        runtime = "codex"
        [[agent]]
        name = "auth"
        runtime = "claude-code"
        """)
    scripts = {
        "rate": "printf 'Error: rate_limit_exceeded - try again in 30 seconds\\n'" + HOLD,
        "fine": "printf '› \\n'" + HOLD,
        "auth": "printf 'API Error: 401 invalid x-api-key\\n'" + HOLD,
    }
    for agent, script in scripts.items():
        subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-s", f"tutti-hw-{agent}", "-x", "200",
                        "-y", "50", "sh", "-c", script], check=True)
    sup = subprocess.Popen([sys.executable, "-m", "tutti.supervisor", str(root)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        store = load_workspace_at(root).store
        wait_until(lambda: {e.kind for e in store.read_events(0, limit=1000)} >= {"agent.rate_limited",
                                                                                 "agent.auth_failed"},
                   timeout=45, what="failure events")
        health = _health(tt, root)
    finally:
        sup.terminate()
        sup.wait(10)
    openai = health[("openai", None)]
    assert openai["status"] == "degraded" and openai["rate_limited"] is True
    assert openai["failing_agents"] == {"rate": "rate_limited"}
    assert openai["rate_limit_reset_at"] is not None and openai["error_rate"] > 0
    anthropic = health[("anthropic", None)]
    assert anthropic["status"] == "degraded"  # one failing agent is not yet the provider
    assert anthropic["last_auth_failure"]["agent"] == "auth"
    table = tt("health", cwd=root)
    assert "degraded" in table.stdout and "rate" in table.stdout


def test_a_correlated_failure_marks_the_profile_down_and_old_errors_age_out(git_repo, tt):
    root = _workspace(git_repo, '[workspace]\nname = "hw2"\n[[agent]]\nname = "api"\nprovider = "main"\n')
    store = load_workspace_at(root).store
    store.append_event("agent.started", agent="api", data={"profile": "main"})
    for _ in range(3):
        store.append_event("direct.model_call", agent="api", data={"provider": "openai", "profile": "main",
                                                                   "model": "gpt-4o"})
    store.append_event("direct.provider_retry", agent="api",
                       data={"provider": "openai", "profile": "main", "status": 401, "reason": "bad key"})
    h = _health(tt, root)[("openai", "main")]
    assert h["requests"] == 3 and h["errors"] == 1 and h["error_rate"] == 0.25
    assert h["status"] == "degraded" and h["last_auth_failure"]["detail"] == "bad key"

    store.append_event("provider.degraded", data={"provider": "openai", "profile": "main", "agents": ["api"]})
    assert _health(tt, root)[("openai", "main")]["status"] == "down"

    # A window that ends before these events sees none of them.
    with store.transaction() as conn:
        conn.execute("UPDATE events SET ts = '2020-01-01T00:00:00.000Z'")
    old = _health(tt, root, "--window", "1h")[("openai", "main")]
    assert old["requests"] == 0 and old["errors"] == 0 and old["last_degraded_at"] is None
    assert old["last_auth_failure"] is None or old["last_auth_failure"]["ts"].startswith("2020")


def test_profiles_lists_plan_reset_day_concurrency_and_week_usage(git_repo, tutti_home, tt, tmux_socket):
    (tutti_home / "config.toml").write_text(textwrap.dedent("""
        [[profile]]
        name = "team"
        provider = "anthropic"
        plan = "max"
        reset_day = "thu"
        max_concurrent = 2

        [[profile]]
        name = "spare"
        provider = "openai"
        plan = "api"
        """))
    root = _workspace(git_repo, '[workspace]\nname = "pw"\n[workspace.auth]\ndefault_profile = "team"\n'
                                '[[agent]]\nname = "a"\nruntime = "claude-code"\n')
    subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-s", "tutti-pw-a", "sleep 60"], check=True)
    out = tt("profiles", "--json", cwd=root)
    assert out.returncode == 0, out.stderr
    rows = {p["name"]: p for p in json.loads(out.stdout)}
    team = rows["team"]
    assert team["plan"] == "max" and team["reset_day"] == "thursday" and team["is_default"] is True
    assert team["in_use"] == 1 and team["max_concurrent"] == 2 and team["at_capacity"] is False
    assert rows["spare"]["is_default"] is False and rows["spare"]["in_use"] == 0
    table = tt("profiles", cwd=root)
    assert "team *" in table.stdout and "1/2" in table.stdout


def test_profiles_without_any_profile_says_how_to_add_one(tmp_path, tt):
    out = tt("profiles", cwd=tmp_path)
    assert out.returncode == 0 and "no profiles" in out.stdout and "[[profile]]" in out.stdout


def test_doctor_reports_provider_health_lines(git_repo, tt):
    root = _workspace(git_repo, '[workspace]\nname = "hw3"\n[[agent]]\nname = "api"\nprovider = "main"\n')
    store = load_workspace_at(root).store
    store.append_event("direct.model_call", agent="api", data={"provider": "openai", "profile": "main"})
    store.append_event("direct.provider_retry", agent="api",
                       data={"provider": "openai", "profile": "main", "status": 429, "reason": "slow down"})
    out = tt("doctor", "--json", cwd=root)
    checks = {c["check"]: c for c in json.loads(out.stdout)["checks"]}
    line = checks["provider/openai/main"]
    assert line["status"] == "warn" and line["detail"].startswith("degraded") and "tt health" in line["fix"]

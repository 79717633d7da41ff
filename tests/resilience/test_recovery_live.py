"""Recovery end to end: `tt up` alone (its background watcher) restarts a failed fake agent in
real tmux on the next profile and records the outcome."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from tests.helpers import wait_until as _wait_until

from tutti.resilience.history import recovery_history
from tutti.sessions import agent_state
from tutti.workspace import load_workspace_at

# A recovery restarts the agent on another profile: these conditions get 40 s, not the default 30.
wait_until = functools.partial(_wait_until, timeout=40.0)

SCRIPT = """
work_secs = 0.3
reply = "Done."

[[rule]]
match = "hit the limit"
work_secs = 0.3
fail = "rate_limit"

[[rule]]
match = "log me in"
work_secs = 0.3
fail = "auth"

[[rule]]
match = "die now"
fail = "crash"
exit_code = 3
"""

GLOBAL = """
[[profile]]
name = "team-a"
provider = "anthropic"
priority = 1

[[profile]]
name = "team-b"
provider = "anthropic"
priority = 2

[resilience]
rate_limit_strategy = "rotate_profile"
provider_down_strategy = "failover"
{extra}
"""


def events(ws, agent, kind):
    return [e for e in ws.store.read_events(agent=agent) if e.kind == kind]


def setup(fake_workspace, tutti_home: Path, agents, *, extra: str = "") -> Path:
    (tutti_home / "config.toml").write_text(GLOBAL.format(extra=extra))
    root = fake_workspace(agents, script=SCRIPT)
    with open(root / "tutti.toml", "a") as fh:
        fh.write('\n[workspace.auth]\ndefault_profile = "team-a"\n')
    return root


def test_rate_limited_agent_is_restarted_on_the_second_profile(fake_workspace, tutti_home, tt):
    root = setup(fake_workspace, tutti_home, [{"name": "w1"}])
    assert tt("up", cwd=root).returncode == 0
    ws = load_workspace_at(root)
    wait_until(lambda: events(ws, "w1", "agent.idle"))
    sent = tt("send", "w1", "please hit the limit", cwd=root)
    assert sent.returncode == 0, sent.stderr
    wait_until(lambda: events(ws, "w1", "agent.rate_limited"))
    ok = wait_until(lambda: events(ws, "w1", "agent.recovery_succeeded"))[0]
    assert ok.data["trigger"] == "rate_limited"
    assert (ok.data["from_profile"], ok.data["to_profile"]) == ("team-a", "team-b")
    assert ok.data["attempt"] == 1 and ok.data["strategy"] == "rotate_profile"
    attempted = events(ws, "w1", "agent.recovery_attempted")
    assert attempted and attempted[0].seq < ok.seq
    assert (agent_state.read_state(ws.state_dir, "w1") or {}).get("profile") == "team-b"
    # the relaunched agent is watched again (becomes idle — maybe before the launch check ends) and takes prompts
    wait_until(lambda: [e for e in events(ws, "w1", "agent.idle") if e.seq > attempted[0].seq])
    assert tt("send", "w1", "hello again", "--wait", "--timeout-secs", "60", cwd=root).returncode == 0
    records = [json.loads(line) for line in (root / ".records" / "w1.jsonl").read_text().splitlines()]
    assert records[-1]["prompt"] == "hello again"
    # our own kill was not reported as a crash
    assert not [e for e in ws.store.read_events(agent="w1") if e.kind == "agent.stopped"
                and e.seq > attempted[0].seq]
    (status,) = recovery_history(ws).agents
    assert (status.agent, status.attempts, status.profile, status.last_event, status.human_needed) == \
        ("w1", 1, "team-b", "agent.recovery_succeeded", False)
    tt("down", cwd=root)


def test_breaker_opens_and_leaves_the_agent_failed_for_a_human(fake_workspace, tutti_home, tt):
    root = setup(fake_workspace, tutti_home, [{"name": "w1"}], extra="recovery_max_attempts = 0")
    assert tt("up", cwd=root).returncode == 0
    ws = load_workspace_at(root)
    wait_until(lambda: events(ws, "w1", "agent.idle"))
    assert tt("send", "w1", "log me in", cwd=root).returncode == 0
    failed = wait_until(lambda: events(ws, "w1", "agent.recovery_failed"))[0]
    assert failed.data["human_needed"] is True and "human is needed" in failed.data["error"]
    assert not events(ws, "w1", "agent.recovery_attempted")
    assert tt("status", "--json", cwd=root).returncode == 0
    assert (agent_state.read_state(ws.state_dir, "w1") or {}).get("state") == "auth_failed"
    assert recovery_history(ws, agent="w1").agents[0].human_needed is True
    tt("down", cwd=root)
    assert tt("up", cwd=root).returncode == 0  # a human takes over: a fresh count
    assert recovery_history(ws, agent="w1").agents[0].human_needed is False
    tt("down", cwd=root)


def test_persistent_agent_that_crashes_is_restarted_when_asked(fake_workspace, tutti_home, tt):
    root = setup(fake_workspace, tutti_home, [{"name": "svc"}], extra="restart_persistent = true")
    text = (root / "tutti.toml").read_text().replace('name = "svc"\n', 'name = "svc"\npersistent = true\n')
    (root / "tutti.toml").write_text(text)
    assert tt("up", cwd=root).returncode == 0
    ws = load_workspace_at(root)
    wait_until(lambda: events(ws, "svc", "agent.idle"))
    assert tt("send", "svc", "die now", cwd=root).returncode == 0
    ok = wait_until(lambda: events(ws, "svc", "agent.recovery_succeeded"))[0]
    assert ok.data["trigger"] == "crashed" and ok.data["to_profile"] == "team-a"
    assert ok.data["strategy"] == "crash_restart"
    tt("down", cwd=root)


def test_agents_failing_together_are_one_provider_degraded_and_move_together(fake_workspace, tutti_home, tt):
    root = setup(fake_workspace, tutti_home, [{"name": "w1"}, {"name": "w2"}])
    assert tt("up", cwd=root).returncode == 0
    ws = load_workspace_at(root)
    wait_until(lambda: events(ws, "w1", "agent.idle") and events(ws, "w2", "agent.idle"))
    assert tt("send", "w1", "hit the limit", cwd=root).returncode == 0
    assert tt("send", "w2", "hit the limit", cwd=root).returncode == 0
    for agent in ("w1", "w2"):
        ok = wait_until(lambda a=agent: events(ws, a, "agent.recovery_succeeded"))[0]
        assert ok.data["to_profile"] == "team-b" and ok.data["attempt"] == 1
    degraded = [e for e in ws.store.read_events() if e.kind == "provider.degraded"]
    assert len(degraded) == 1
    assert degraded[0].data["profile"] == "team-a" and degraded[0].data["agents"] == ["w1", "w2"]
    tt("down", cwd=root)


def test_stuck_agent_is_rotated_after_its_working_timeout(fake_workspace, tutti_home, tt):
    root = setup(fake_workspace, tutti_home, [{"name": "slow"}])
    text = (root / "tutti.toml").read_text().replace('name = "slow"\n', 'name = "slow"\nworking_timeout_secs = 2\n')
    (root / "tutti.toml").write_text(text)
    (root / ".records" / "script.toml").write_text('work_secs = 120\nreply = "Done."\n')
    assert tt("up", cwd=root).returncode == 0
    ws = load_workspace_at(root)
    wait_until(lambda: events(ws, "slow", "agent.idle"))
    assert tt("send", "slow", "think forever", cwd=root).returncode == 0
    ok = wait_until(lambda: events(ws, "slow", "agent.recovery_succeeded"))[0]
    assert ok.data["trigger"] == "stuck" and ok.data["strategy"] == "failover"
    assert (ok.data["from_profile"], ok.data["to_profile"]) == ("team-a", "team-b")
    assert events(ws, "slow", "agent.stuck")
    tt("down", cwd=root)


def test_a_waiting_restart_is_cancelled_when_a_human_stops_the_agent(fake_workspace, tutti_home, tt):
    root = setup(fake_workspace, tutti_home, [{"name": "w1"}])
    # one profile, restart in place: the restart waits for the profile's cooldown (4 s)
    (tutti_home / "config.toml").write_text(
        '[[profile]]\nname = "team-a"\nprovider = "anthropic"\n\n'
        '[resilience]\nrate_limit_strategy = "restart"\nrecovery_max_backoff_secs = 4\n')
    assert tt("up", cwd=root).returncode == 0
    ws = load_workspace_at(root)
    wait_until(lambda: events(ws, "w1", "agent.idle"))
    assert tt("send", "w1", "hit the limit", cwd=root).returncode == 0
    scheduled = wait_until(lambda: events(ws, "w1", "agent.recovery_scheduled"))[0]
    assert scheduled.data["to_profile"] == "team-a" and scheduled.data["backoff_secs"] >= 3
    assert tt("down", "w1", cwd=root).returncode == 0
    cancelled = wait_until(lambda: events(ws, "w1", "agent.recovery_cancelled"))[0]
    assert cancelled.data["reason"] == "stopped by tt down"
    assert not events(ws, "w1", "agent.recovery_attempted")
    assert tt("status", "--json", cwd=root).returncode == 0
    assert (agent_state.read_state(ws.state_dir, "w1") or {}).get("state") == "stopped"

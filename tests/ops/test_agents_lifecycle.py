"""ops.agents: up / down / status / peek / detect / workspaces against real tmux and git."""

from __future__ import annotations

import json
import subprocess

import pytest
from tests.conftest import git
from tests.helpers import wait_until

from tutti.errors import AgentNotRunning, ConfigError, NotFoundError
from tutti.ops import agents
from tutti.ops.resolve import resolve_agent
from tutti.sessions.tmux import TmuxBackend
from tutti.workspace import load_workspace_at

THREE = [{"name": "c", "depends_on": ["b"]}, {"name": "a"}, {"name": "b", "depends_on": ["a"]}]


def test_up_launches_in_depends_on_order_with_sessions_and_worktrees(fake_workspace):
    ws = load_workspace_at(fake_workspace(THREE))
    res = agents.up(ws, start_watcher=False)
    assert [a.agent for a in res.launched] == ["a", "b", "c"]
    backend = TmuxBackend()
    for name in "abc":
        assert backend.exists(ws.session_name(name))
        assert git(ws.worktree_path(name), "rev-parse", "--abbrev-ref", "HEAD").strip() == f"tutti/{name}"
    started = [e.agent for e in ws.store.read_events(kinds=["agent.started"])]
    assert started == ["a", "b", "c"]
    state = json.loads((ws.state_dir / "a.json").read_text())
    assert state["session_name"] == ws.session_name("a") and state["branch"] == "tutti/a"


def test_up_skips_agents_that_already_run(fake_workspace):
    ws = load_workspace_at(fake_workspace([{"name": "a"}]))
    agents.up(ws, start_watcher=False)
    again = agents.up(ws, start_watcher=False)
    assert again.launched == [] and again.skipped == [{"agent": "a", "reason": "already running"}]


def test_up_one_agent_warns_about_missing_dependencies(fake_workspace):
    ws = load_workspace_at(fake_workspace(THREE))
    res = agents.up(ws, "b", start_watcher=False)
    assert [a.agent for a in res.launched] == ["b"]
    assert "dependency 'a' is not running" in res.warnings


def test_up_rejects_a_dependency_cycle(fake_workspace):
    root = fake_workspace([{"name": "a", "depends_on": ["b"]}, {"name": "b", "depends_on": ["a"]}])
    with pytest.raises(ConfigError, match="dependency cycle"):
        agents.up(load_workspace_at(root), start_watcher=False)
    assert TmuxBackend().list() == []


def test_up_with_worktree_failure_never_falls_back_to_the_root(fake_workspace):
    from tutti.errors import RoutingError

    ws = load_workspace_at(fake_workspace([{"name": "a", "branch": "main"}]))  # main is checked out in the root
    with pytest.raises(RoutingError):
        agents.up(ws, start_watcher=False)
    assert not TmuxBackend().exists(ws.session_name("a"))


def test_up_records_a_policy_decision(fake_workspace):
    ws = load_workspace_at(fake_workspace([{"name": "a"}]))
    agents.up(ws, start_watcher=False, mode="safe")
    record = json.loads((ws.state_dir / "policy-decisions.jsonl").read_text().splitlines()[-1])
    assert record["action"] == "launch" and record["agent"] == "a" and record["mode"] == "safe"


def test_down_clean_leaves_no_session_worktree_or_branch(fake_workspace):
    ws = load_workspace_at(fake_workspace(THREE))
    agents.up(ws, start_watcher=False)
    res = agents.down(ws, clean=True)
    assert sorted(res.stopped) == ["a", "b", "c"]
    assert TmuxBackend().list() == []
    assert not any((ws.tutti_dir / "worktrees").iterdir())
    assert "tutti/" not in git(ws.root, "branch", "--list")
    stopped = [e for e in ws.store.read_events(kinds=["agent.stopped"])]
    assert {e.agent for e in stopped} == {"a", "b", "c"} and stopped[0].data["reason"] == "manual"


def test_status_reports_live_state_with_evidence(fake_workspace):
    ws = load_workspace_at(fake_workspace([{"name": "a"}, {"name": "b"}]))
    agents.up(ws, "a", start_watcher=False)
    rows = wait_until(lambda: (r := agents.status(ws)) and r[0].state == "idle" and r)
    st = {s.agent: s for s in rows}
    assert st["a"].running and st["a"].evidence
    assert st["b"].state == "stopped" and not st["b"].running


def test_peek_shows_the_screen_but_never_the_secrets(fake_workspace):
    secret = "sk-live-secret-0042"
    ws = load_workspace_at(fake_workspace([{"name": "a"}], env={"API_TOKEN": secret}))
    agents.up(ws, start_watcher=False)
    screen = wait_until(lambda: (s := agents.peek(ws, "a", 200)) and "❯" in s and s)
    assert secret not in screen
    raw = subprocess.run(["tmux", "-L", TmuxBackend().socket, "capture-pane", "-p", "-S", "-1000", "-t",
                          f"={ws.session_name('a')}:"], capture_output=True, text=True, check=True).stdout
    assert secret not in raw
    env = subprocess.run(["tmux", "-L", TmuxBackend().socket, "show-environment", "-t", f"={ws.session_name('a')}:",
                          "API_TOKEN"], capture_output=True, text=True, check=True).stdout
    assert secret in env  # it did reach the session environment


def test_peek_of_a_stopped_agent_is_agent_not_running(fake_workspace):
    ws = load_workspace_at(fake_workspace([{"name": "a"}]))
    with pytest.raises(AgentNotRunning):
        agents.peek(ws, "a")


def test_detect_has_the_documented_json_fields(fake_workspace):
    ws = load_workspace_at(fake_workspace([{"name": "a"}]))
    agents.up(ws, start_watcher=False)
    info = wait_until(lambda: (d := agents.detect(ws, "a")) and d["state"] == "idle" and d)
    for key in ("workspace", "agent", "runtime", "session", "status", "confidence", "matched_patterns",
                "auth_match", "rate_limit_match", "provider_down_match", "completion_match", "evidence"):
        assert key in info
    assert info["completion_match"] and info["auth_match"] is None


def test_workspace_slash_agent_resolves_through_the_registry(fake_workspace, tutti_home):
    root = fake_workspace([{"name": "a"}], name="proj")
    (tutti_home / "config.toml").write_text(f'[[registered_workspace]]\nname = "proj"\npath = "{root}"\n')
    ref = resolve_agent("proj/a")
    assert ref.ws.root == root and ref.name == "a"
    with pytest.raises(NotFoundError):
        resolve_agent("proj/zzz")
    with pytest.raises(NotFoundError):
        resolve_agent("nope/a")
    listed = agents.workspaces()
    assert [(w.name, w.agents, w.running) for w in listed] == [("proj", 1, 0)]


def test_max_concurrent_of_the_default_profile_is_respected(fake_workspace, tutti_home):
    root = fake_workspace([{"name": "a"}, {"name": "b"}])
    toml = root / "tutti.toml"
    toml.write_text(toml.read_text().replace('name = "demo"\n', 'name = "demo"\n[workspace.auth]\ndefault_profile = "p"\n', 1))
    (tutti_home / "config.toml").write_text('[[profile]]\nname = "p"\nmax_concurrent = 1\n')
    ws = load_workspace_at(root)
    res = agents.up(ws, start_watcher=False)
    assert [a.agent for a in res.launched] == ["a"]
    assert res.skipped[0]["agent"] == "b" and "max_concurrent" in res.skipped[0]["reason"]


def test_memory_is_prepended_to_the_initial_prompt(fake_workspace):
    root = fake_workspace([{"name": "a"}])
    (root / "mem.md").write_text("Keep answers short.\n")
    toml = root / "tutti.toml"
    toml.write_text(toml.read_text().replace('name = "a"\n', 'name = "a"\nmemory = "mem.md"\nprompt = "say hi"\n'))
    ws = load_workspace_at(root)
    agents.up(ws, start_watcher=False)
    rec = root / ".records" / "a.jsonl"
    first = wait_until(lambda: rec.exists() and rec.read_text().strip() and json.loads(rec.read_text().splitlines()[0]))
    assert first["prompt"] == "## Agent Memory\n\nKeep answers short.\n\n---\n\nsay hi"


def test_up_relaunches_an_agent_whose_process_died(fake_workspace):
    ws = load_workspace_at(fake_workspace([{"name": "a"}]))
    agents.up(ws, start_watcher=False)
    backend = TmuxBackend()
    first = backend.pane(ws.session_name("a")).pid
    subprocess.run(["kill", "-9", str(first)], check=True)
    wait_until(lambda: backend.pane(ws.session_name("a")).dead)
    res = agents.up(ws, start_watcher=False)
    assert [a.agent for a in res.launched] == ["a"] and any("relaunching" in w for w in res.warnings)
    assert backend.pane(ws.session_name("a")).pid != first and not backend.pane(ws.session_name("a")).dead


def test_down_fires_agent_stop_hooks(fake_workspace):
    root = fake_workspace([{"name": "a"}])
    toml = root / "tutti.toml"
    marker = root / ".records" / "stopped.txt"
    toml.write_text(toml.read_text() + f'\n[[hook]]\nevent = "agent_stop"\nagent = "a"\nrun = "echo $TUTTI_AGENT > {marker}"\n')
    ws = load_workspace_at(root)
    agents.up(ws, start_watcher=False)
    res = agents.down(ws, "a")
    assert res.stopped == ["a"] and res.hook_failures == []
    assert marker.read_text().strip() == "a"


def test_down_of_nothing_running_stops_nothing(fake_workspace):
    ws = load_workspace_at(fake_workspace([{"name": "a"}]))
    res = agents.down(ws)
    assert res.stopped == [] and ws.store.read_events(kinds=["agent.stopped"]) == []


def test_agents_without_worktree_run_in_the_project_root(fake_workspace):
    ws = load_workspace_at(fake_workspace([{"name": "a", "worktree": False}]))
    res = agents.up(ws, start_watcher=False)
    assert res.launched[0].workdir == str(ws.root) and res.launched[0].branch is None
    assert not (ws.tutti_dir / "worktrees" / "a").exists()


def test_a_runtime_binary_that_is_not_installed_is_an_error_before_any_session(fake_workspace):
    from tutti.errors import SessionError

    root = fake_workspace([{"name": "a"}])
    toml = root / "tutti.toml"
    toml.write_text(toml.read_text().replace('runtime = "fake"', 'runtime = "mine"') +
                    '\n[[runtime]]\nname = "mine"\ncommand = "definitely-not-installed-cli"\n')
    ws = load_workspace_at(root)
    with pytest.raises(SessionError, match="not installed or not on PATH"):
        agents.up(ws, start_watcher=False, mode="safe")
    assert TmuxBackend().list() == []


ROTATING_CLI = """#!/bin/sh
# A stand-in CLI: the 'tired' profile's credentials are rejected, any other works.
if [ "$TUTTI_PROFILE" = "tired" ]; then
  echo "Error: authentication_error - invalid api key"
  sleep 30
fi
printf 'ready on %s\\n> ' "$TUTTI_PROFILE"
sleep 300
"""


def test_rotation_tries_the_next_profile_when_the_launch_fails_auth(git_repo, tmux_socket, tutti_home):
    cli = git_repo / ".records-cli.sh"
    cli.write_text(ROTATING_CLI)
    cli.chmod(0o755)
    (git_repo / "tutti.toml").write_text(
        '[workspace]\nname = "rot"\n[workspace.auth]\ndefault_profile = "tired"\n'
        f'[[runtime]]\nname = "stand-in"\ncommand = "{cli}"\nprompt = "none"\n'
        'idle = ["^> ?$"]\nauth_failed = ["authentication_error"]\n'
        '[[agent]]\nname = "a"\nruntime = "stand-in"\n')
    (tutti_home / "config.toml").write_text(
        '[resilience]\nprovider_down_strategy = "rotate"\n'
        '[[profile]]\nname = "tired"\nprovider = "anthropic"\npriority = 1\n'
        '[[profile]]\nname = "spare"\nprovider = "anthropic"\npriority = 2\n'
        '[[profile]]\nname = "other-vendor"\nprovider = "openai"\n')
    ws = load_workspace_at(git_repo)
    res = agents.up(ws, start_watcher=False, mode="safe")
    assert res.launched[0].profile == "spare"
    assert any("launch failed on profile 'tired' (auth_failed" in w for w in res.warnings)
    screen = wait_until(lambda: "ready on spare" in (s := agents.peek(ws, "a")) and s)
    assert "authentication_error" not in screen
    assert [e.data["profile"] for e in ws.store.read_events(kinds=["agent.launch_failed"])] == ["tired"]


def test_commands_run_inside_an_agent_worktree_address_the_project_workspace(fake_workspace):
    from tutti.ops.resolve import current_workspace

    root = fake_workspace([{"name": "a"}])
    git(root, "add", "-f", "tutti.toml")
    git(root, "commit", "-qm", "config")
    ws = load_workspace_at(root)
    agents.up(ws, start_watcher=False)
    inner = ws.worktree_path("a")
    assert (inner / "tutti.toml").exists()  # the worktree has its own checkout of the config
    assert current_workspace(start=inner).root == root
    assert current_workspace(start=root).root == root


def test_up_registers_a_hand_written_workspace_once(fake_workspace):
    from tutti.config.global_config import load_global

    ws = load_workspace_at(fake_workspace([{"name": "a"}], name="handmade"))
    assert all(rw.name != "handmade" for rw in load_global().registered_workspaces)
    agents.up(ws, start_watcher=False)
    registered = [rw for rw in load_global().registered_workspaces if rw.name == "handmade"]
    assert [rw.path for rw in registered] == [str(ws.root)]
    assert resolve_agent("handmade/a").ws.root == ws.root  # now addressable across workspaces


def test_up_never_steals_a_name_registered_for_another_directory(fake_workspace, tmp_path):
    from tutti.config.global_config import load_global, register_workspace

    other = tmp_path / "elsewhere"
    other.mkdir()
    register_workspace("demo", other)
    ws = load_workspace_at(fake_workspace([{"name": "a"}]))
    res = agents.up(ws, start_watcher=False)
    assert any("registered for" in w for w in res.warnings)
    assert {rw.name: rw.path for rw in load_global().registered_workspaces}["demo"] == str(other.resolve())

"""Port of the original's `src/state/mod.rs` tests (@ 56d6b56): the files it documents under
`.tutti/state/` are written by the commands that wrote them there (ours also keeps every record in
the SQLite store), and ids that name files are validated."""

from __future__ import annotations

import json

from .conftest import jsonl

HEAD = '[workspace]\nname = "ws"\n\n[[agent]]\nname = "backend"\nruntime = "claude-code"\n'
VERIFY = HEAD + """
[[workflow]]
name = "verify"

[[workflow.step]]
type = "command"
id = "scan"
run = "printf '{\\"ok\\": true}' > out.json"
output_json = "out.json"

[[workflow.step]]
type = "command"
run = "exit 2"
"""


def test_automation_runs_jsonl_is_appended(ws, tt):
    """upstream: src/state/mod.rs::tests::automation_runs_jsonl_is_appended"""
    root = ws(VERIFY)
    ids = [json.loads(tt("run", "verify", "--json", cwd=root).stdout)["run_id"] for _ in range(2)]
    rows = jsonl(root / ".tutti" / "state" / "automation-runs.jsonl")
    assert [r["run_id"] for r in rows] == ids
    assert rows[0]["workflow_name"] == "verify" and rows[0]["warning_count"] == 1


def test_verify_last_summary_round_trip(ws, tt):
    """upstream: src/state/mod.rs::tests::verify_last_summary_round_trip"""
    root = ws(VERIFY)
    assert tt("verify", "--strict", cwd=root).returncode != 0
    res = tt("verify", "--last", "--json", cwd=root)
    summary = json.loads(res.stdout)["summary"]
    assert (summary["workflow_name"], summary["failed_steps"], summary["strict"], summary["success"]) == (
        "verify", [2], True, False)
    assert json.loads((root / ".tutti" / "state" / "verify-last.json").read_text())["failed_steps"] == [2]


def test_workflow_output_and_checkpoint_are_persisted(ws, tt):
    """upstream: src/state/mod.rs::tests::workflow_output_is_persisted,
    src/state/mod.rs::tests::workflow_checkpoint_round_trip, src/state/mod.rs::tests::workflow_intent_round_trip"""
    root = ws(VERIFY)
    run_id = json.loads(tt("run", "verify", "--json", cwd=root).stdout)["run_id"]
    state = root / ".tutti" / "state"
    assert json.loads((state / "workflow-outputs" / run_id / "scan.json").read_text()) == {"ok": True}
    checkpoint = json.loads((state / "workflow-checkpoints" / f"{run_id}.json").read_text())
    assert checkpoint["workflow_name"] == "verify" and checkpoint["run_id"] == run_id
    intent = json.loads((state / "workflow-intents" / run_id / "001-scan.json").read_text())
    assert intent["workflow_name"] == "verify" and intent["step_type"] == "command" and intent["outcome"]["success"]


def test_step_id_with_path_segments_is_rejected(ws, tt):
    """upstream: src/state/mod.rs::tests::step_id_with_path_segments_is_rejected,
    src/state/mod.rs::tests::step_id_allowlist_rejects_special_chars_and_accepts_safe_values —
    fixed here: a step id `../escape` wrote its output outside the run's directory."""
    root = ws(VERIFY.replace('id = "scan"', 'id = "../escape"').replace("exit 2", "true"))
    res = tt("run", "verify", "--json", cwd=root)
    step = json.loads(res.stdout)["steps"][0]
    assert step["status"] != "success" and "invalid step_id '../escape'" in step["message"]
    assert not (root / ".tutti" / "state" / "workflow-outputs" / "escape.json").exists()
    ok = ws(VERIFY.replace('id = "scan"', 'id = "step_1-OK"'))
    assert tt("run", "verify", cwd=ok).returncode == 0


def test_run_id_with_path_segments_is_rejected(ws, tt):
    """upstream: src/state/mod.rs::tests::run_id_with_path_segments_is_rejected,
    src/state/mod.rs::tests::run_id_allowlist_rejects_special_chars_and_accepts_safe_values"""
    root = ws(VERIFY)
    for args in (("run", "--resume", "../escape"), ("runs", "show", "../escape"), ("run", "--resume", "run:123"),
                 ("run", "--resume", "run\n123")):
        res = tt(*args, cwd=root)
        assert res.returncode != 0 and "invalid run_id" in res.stderr, (args, res.stderr)
        assert "only [A-Za-z0-9_-] allowed" in res.stderr
    res = tt("run", "--resume", "run_123-ABC", cwd=root)  # well-formed, unknown: a different error
    assert res.returncode != 0 and "invalid run_id" not in res.stderr


def test_load_states_for_agents_never_started(ws, tt_json):
    """upstream: src/state/mod.rs::tests::load_nonexistent_state_returns_none,
    src/state/mod.rs::tests::load_all_states_works — every configured agent is listed; one that
    never ran is not running (round_trip_agent_state: tests/upstream/test_up.py)."""
    root = ws(HEAD + '\n[[agent]]\nname = "agent2"\nruntime = "codex"\n')
    rc, data, err = tt_json("status", cwd=root)
    assert rc == 0, err
    assert {r["agent"]: r["running"] for r in data} == {"backend": False, "agent2": False}


def test_control_events_append_and_load(ws, tt):
    """upstream: src/state/mod.rs::tests::control_events_append_and_load — the original's
    `.tutti/state/events.jsonl` (one JSON object per event: event, workspace, agent, timestamp,
    correlation_id, data)."""
    root = ws(VERIFY)
    tt("run", "verify", cwd=root)
    events = jsonl(root / ".tutti" / "state" / "events.jsonl")
    assert any(e["event"] == "workflow.started" and e["workspace"] == "ws" for e in events)
    assert all({"event", "workspace", "timestamp", "correlation_id"} <= set(e) for e in events)


def test_policy_decisions_append_and_load(ws, tt, global_config):
    """upstream: src/state/mod.rs::tests::policy_decisions_append_and_load,
    src/cli/permissions.rs (@ 286d493)::tests::persist_permission_check_decision_writes_policy_log — a `tt permissions
    check` inside a workspace appends a record to `.tutti/state/policy-decisions.jsonl`."""
    global_config('[permissions]\nallow = ["git status"]\n')
    root = ws(HEAD)
    tt("permissions", "check", "git", "status", cwd=root)
    tt("permissions", "check", "git", "stash", cwd=root)
    rows = jsonl(root / ".tutti" / "state" / "policy-decisions.jsonl")
    assert [(r["action"], r["decision"]) for r in rows] == [("permission_check", "allow"), ("permission_check", "block")]
    assert all(r["workspace"] == "ws" and "timestamp" in r and "enforcement" in r for r in rows)

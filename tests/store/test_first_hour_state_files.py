"""Issue #11 §2: the original's `.tutti/state/events.jsonl` (ControlEvent lines) and
`run-telemetry.jsonl` are written — by real `tt` processes, each event exactly once."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

CONFIG = ('[workspace]\nname = "mirror"\n[[workflow]]\nname = "w"\n'
          '[[workflow.step]]\nid = "a"\ntype = "command"\nrun = "true"\n'
          '[[workflow.step]]\nid = "b"\ntype = "command"\nrun = "exit 1"\n')


def _lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_a_run_writes_events_jsonl_and_run_telemetry(tt, git_repo):
    (git_repo / "tutti.toml").write_text(CONFIG)
    result = json.loads(tt("run", "w", "--json", cwd=git_repo).stdout)
    state = git_repo / ".tutti" / "state"
    events = _lines(state / "events.jsonl")
    kinds = [e["event"] for e in events]
    assert kinds[0] == "workflow.started" and "workflow.step.warning" in kinds and kinds[-1] == "workflow.completed"
    first = events[0]
    assert first["workspace"] == "mirror" and first["correlation_id"] == result["run_id"] and first["timestamp"]
    telemetry = _lines(state / "run-telemetry.jsonl")
    assert len(telemetry) == 1
    t = telemetry[0]
    assert t["run_id"] == result["run_id"] and t["workflow"] == "w" and t["warning_count"] == 1
    assert t["success"] is True and isinstance(t["duration_ms"], int)


def test_concurrent_processes_never_write_an_event_twice(tt, git_repo):
    (git_repo / "tutti.toml").write_text(CONFIG)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: tt("run", "w", cwd=git_repo), range(4)))
    from tutti.workspace import load_workspace_at

    store = load_workspace_at(git_repo).store
    seqs = [e["seq"] for e in _lines(git_repo / ".tutti" / "state" / "events.jsonl")]
    assert seqs == sorted(set(seqs)) and seqs[-1] == store.latest_seq()
    assert len(_lines(git_repo / ".tutti" / "state" / "run-telemetry.jsonl")) == 4


def test_events_jsonl_rotates_like_the_original(git_repo, monkeypatch):
    from tutti.store import state_files

    monkeypatch.setattr(state_files, "ROTATE_AT", 50)
    monkeypatch.setattr(state_files, "KEEP", 20)
    (git_repo / "tutti.toml").write_text(CONFIG)
    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(git_repo)
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    for i in range(60):
        ws.store.append_event("test.tick", data={"i": i})
    state_files.sync(ws.store, ws.state_dir)
    kept = _lines(ws.state_dir / "events.jsonl")
    archives = list(ws.state_dir.glob("events-*.jsonl"))
    assert len(kept) == 20 and kept[-1]["data"] == {"i": 59} and len(archives) == 1
    assert len(archives[0].read_text().splitlines()) == 40

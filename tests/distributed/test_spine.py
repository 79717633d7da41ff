"""The event spine's dedupe (no Temporal needed): host events land in the control store once each,
in host order, whatever is re-sent."""

from __future__ import annotations

from tutti.distributed.spine import host_events, ingest
from tutti.store.db import Store


def test_host_events_are_ingested_once_in_host_order(tmp_path):
    host = Store(tmp_path / "host.db", "w")
    for kind in ("agent.started", "agent.prompt_sent", "workflow.agent_started"):
        host.append_event(kind, run_id="r1", agent="a1", data={"k": kind})
    host.append_event("agent.prompt_sent", run_id="other", agent="a1")
    sent = host_events(host, "r1")
    assert [e["host_seq"] for e in sent] == [1, 2, 3] and all(e["run_id"] == "r1" for e in sent)

    control = Store(tmp_path / "control.db", "w")
    control.append_event("workflow.started", run_id="r1")
    with control.transaction() as conn:
        assert ingest(control, "h1", list(reversed(sent[:2])), conn) == 2  # order restored by host_seq
    with control.transaction() as conn:  # a retry re-sends everything: only the new one lands
        assert ingest(control, "h1", sent, conn) == 1
    with control.transaction() as conn:  # another host's seq 1 is a different event
        assert ingest(control, "h2", sent[:1], conn) == 1
    rows = [(e.kind, e.data.get("host"), e.data.get("host_seq"), e.ts) for e in control.read_events(run_id="r1")]
    assert [r[:3] for r in rows] == [("workflow.started", None, None), ("agent.started", "h1", 1),
                                     ("agent.prompt_sent", "h1", 2), ("workflow.agent_started", "h1", 3),
                                     ("agent.started", "h2", 1)]
    assert rows[1][3] == sent[0]["ts"]  # the host's timestamp is kept

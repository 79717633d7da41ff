"""Placement by labels (no SDK): `[[agent]] host_labels = ["gpu"]` lets any `tt host --label gpu`
take the agent, pull-based — hosts only ever poll Temporal, nobody pushes to a host.

A host serves, besides its own `<prefix>.host.<name>` queue, one queue per label SET some agent
asks for that the host has all of: `<prefix>.label.<sorted labels joined by '+'>`. The first step
of an unplaced agent goes to that queue; whichever matching host pulls it runs it and reports its
name; the control records the placement here (store table `agent_placement`) and in the
workflow's state, and every later step of that agent — this run and later runs — goes to that
host's own queue (the agent's worktree lives on that host's disk). `tt host unplace AGENT`
forgets a placement whose host is gone.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tutti.errors import NotFoundError

if TYPE_CHECKING:
    import sqlite3

    from tutti.config.models import TuttiConfig
    from tutti.store.db import Store
    from tutti.workflows.plan import ResolvedStep


def label_queue(config: TuttiConfig, labels: list[str]) -> str:
    return f"{config.engine.task_queue_prefix}.label.{'+'.join(sorted(set(labels)))}"


def host_queue_prefix(config: TuttiConfig) -> str:
    return f"{config.engine.task_queue_prefix}.host."


def served_label_queues(config: TuttiConfig, labels: list[str]) -> list[str]:
    """The label queues a host with `labels` polls: one per label set an agent asks for that is
    wholly among the host's labels (so a step never lands on a host missing one of them)."""
    have = set(labels)
    return sorted({label_queue(config, a.host_labels) for a in config.agents
                   if a.host_labels and set(a.host_labels) <= have})


def step_placement(config: TuttiConfig, step: ResolvedStep) -> dict[str, Any] | None:
    """For a step that runs on a label-placed agent's host: what the workflow needs to place it."""
    from tutti.distributed.settings import step_host

    if step.agent is None or step.type in ("workflow", "land"):
        return None
    agent = config.agent(step.agent)
    if agent is None or not agent.host_labels or step_host(config, step) is not None:
        return None
    return {"agent": agent.name, "labels": sorted(set(agent.host_labels)),
            "queue": label_queue(config, agent.host_labels)}


def all_placements(store: Store) -> dict[str, str]:
    return {r["agent"]: r["host"] for r in store.query("SELECT agent, host FROM agent_placement")}


def placed_host(store: Store, agent: str) -> str | None:
    rows = store.query("SELECT host FROM agent_placement WHERE agent = ?", (agent,))
    return rows[0]["host"] if rows else None


def record(conn: sqlite3.Connection, agent: str, host: str, labels: list[str], run_id: str) -> str:
    """Record where `agent` now lives; the first placement wins (two runs racing to place the
    same agent both end up sending its later steps to the recorded host). Returns that host."""
    from tutti.store.db import now_iso

    conn.execute("INSERT INTO agent_placement (agent, host, labels, run_id, placed_at) VALUES (?, ?, ?, ?, ?) "
                 "ON CONFLICT(agent) DO NOTHING", (agent, host, json.dumps(labels), run_id, now_iso()))
    return conn.execute("SELECT host FROM agent_placement WHERE agent = ?", (agent,)).fetchone()["host"]


def listing(store: Store) -> list[dict[str, Any]]:
    rows = store.query("SELECT agent, host, labels, run_id, placed_at FROM agent_placement ORDER BY agent")
    return [{"agent": r["agent"], "host": r["host"], "labels": json.loads(r["labels"] or "[]"),
             "run_id": r["run_id"], "placed_at": r["placed_at"]} for r in rows]


def unplace(store: Store, agent: str) -> dict[str, Any]:
    """Forget `agent`'s placement: its next step goes to its label queue again (any matching host
    takes it; the old host's worktree — and any commits not pushed from it — stays behind there)."""
    rows = [r for r in listing(store) if r["agent"] == agent]
    if not rows:
        raise NotFoundError(f"agent '{agent}' is not placed on any host",
                            hint="`tt host placements` lists placed agents (only agents with host_labels are placed)")
    with store.transaction() as conn:
        conn.execute("DELETE FROM agent_placement WHERE agent = ?", (agent,))
    return rows[0]


def unplaced_message(place: dict[str, Any], secs: float) -> str:
    labels = ", ".join(place["labels"])
    flags = " ".join(f"--label {label}" for label in place["labels"])
    return (f"no host with labels [{labels}] took agent '{place['agent']}''s step within {secs:g}s "
            f"(queue {place['queue']}); fix: run `tt host --name NAME {flags}` on a machine that has them "
            f"(same tutti.toml), or change the agent's host_labels ([engine] placement_timeout_secs sets the wait)")


def gone_message(place: dict[str, Any], host: str, secs: float) -> str:
    flags = " ".join(f"--label {label}" for label in place["labels"])
    return (f"agent '{place['agent']}' is placed on host '{host}', which did not take its step within {secs:g}s "
            f"(is `tt host --name {host}` running?); fix: restart `tt host --name {host} {flags}` there, or "
            f"`tt host unplace {place['agent']}` so another host with [{', '.join(place['labels'])}] takes it "
            f"(its worktree on '{host}' stays behind)")

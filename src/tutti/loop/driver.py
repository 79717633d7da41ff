"""The loop driver: N lanes, each claiming a work item, running it through the pipeline
(`loop.pipeline`) and releasing it — until the intake is drained (`once`) or it is stopped.

A lane is a thread with its own implementer agent (`implementer-N`, cloned from `[loop]
implementer`) and worktree. Claims are store leases (`tutti.intake`): a heartbeat thread renews
the lane's lease while the item is worked; a lost lease cancels the item's runs (someone else
owns it now). A crashed lane's lease expires after its TTL and another lane claims the item and
resumes it from its record. All lanes land through one merge queue onto `[loop] target`.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tutti.errors import ConfigError, TuttiError
from tutti.loop import lanes
from tutti.loop.merge_queue import MergeQueue, RefLander, RemoteLander
from tutti.loop.outcome import ItemResult
from tutti.loop.pipeline import Pipeline

if TYPE_CHECKING:
    from tutti.config.models import Loop
    from tutti.intake.base import IntakeSource
    from tutti.intake.claims import Claim
    from tutti.loop.forge_link import ForgeLink
    from tutti.workspace import Workspace

MAX_IDLE_WAIT = 2.0
# Outcomes this driver does not claim again: a no_change item goes back open for a person (or a
# later `tt loop`), not straight back to the same lane to produce nothing again.
FINISHED = ("merged", "failed", "no_change")
OnResult = Callable[[ItemResult], None]


@dataclass
class LoopOptions:
    lanes: int | None = None  # default [loop] lanes
    once: bool = False  # stop when no open item is left to claim or wait for
    first_lane: int = 1  # lane numbers first_lane .. first_lane+lanes-1 (several processes, one workspace)
    max_items: int | None = None  # stop after this many items (benchmarks)
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass
class LoopReport:
    lanes: int
    items: list[ItemResult] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    @property
    def merged(self) -> int:
        return sum(1 for i in self.items if i.status == "merged")

    @property
    def no_change(self) -> int:
        """Items whose lane produced nothing to land (left open, not merged)."""
        return sum(1 for i in self.items if i.status == "no_change")

    def to_dict(self) -> dict[str, Any]:
        return {"lanes": self.lanes, "merged": self.merged, "no_change": self.no_change,
                "failed": sum(1 for i in self.items if i.status not in ("merged", "no_change")),
                "items": [i.to_dict() for i in self.items], "started_at": self.started_at,
                "finished_at": self.finished_at}


def loop_settings(ws: Workspace) -> Loop:
    if ws.config.loop is None:
        raise ConfigError(f"{ws.config_path} has no [loop] table",
                          hint='add [loop] with workflow = "<workflow run per item>" (see README "The SDLC loop")')
    return ws.config.loop


class LoopDriver:
    def __init__(self, ws: Workspace, options: LoopOptions | None = None, *, forge: ForgeLink | None = None,
                 sources: list[IntakeSource] | None = None, on_result: OnResult | None = None,
                 check_command: Callable[[str], Any] | None = None) -> None:
        from tutti.intake.base import build_sources

        self.ws, self.options, self.forge = ws, options or LoopOptions(), forge
        self.check_command = check_command  # the permission policy for verify commands (from ops)
        self.loop = loop_settings(ws)
        self.sources = sources if sources is not None else build_sources(ws, self.loop.intake or None)
        if not self.sources:
            raise ConfigError(f"{ws.config_path}: [loop] has no intake to take work from",
                              hint='declare an [[intake]] (kind = "queue" for `tt queue add`)')
        ttls = [c.lease_ttl_secs for c in ws.config.intake]
        self.ttl = float(self.loop.lease_ttl_secs or (min(ttls) if ttls else 1800))
        self.queue = self._queue()
        self.on_result = on_result
        self.report = LoopReport(self.options.lanes or self.loop.lanes)
        self._finished: set[str] = set()  # keys this driver finished (FINISHED): not claimed again
        self._lock = threading.Lock()

    def _queue(self) -> MergeQueue:
        mq = self.loop.merge_queue
        verify = mq.verify if mq.verify is not None else self.ws.config.gate.commands
        if self.forge is not None and hasattr(self.forge, "lander"):
            lander: Any = self.forge.lander(self.loop.target)  # merged through the PR API
        elif self.loop.remote:
            lander = RemoteLander(self.ws.root, self.loop.remote, self.loop.target)
        else:
            lander = RefLander(self.ws.root, self.loop.target)
        return MergeQueue(self.ws.root, lander, verify=verify, batch=mq.batch, batch_wait_secs=mq.batch_wait_secs,
                          verify_timeout_secs=mq.verify_timeout_secs, name=self.loop.target,
                          state_dir=self.ws.tutti_dir / "merge-queue",
                          on_event=lambda kind, data: self.ws.store.append_event(kind, data=data),
                          check_command=self.check_command)

    # -- running -------------------------------------------------------------------------------
    def run(self) -> LoopReport:
        n = self.report.lanes
        self.ws.store.append_event("loop.started", data={"lanes": n, "once": self.options.once, "pid": os.getpid(),
                                                         "workflow": self.loop.workflow})
        threads = [threading.Thread(target=self._lane, args=(self.options.first_lane + i,), daemon=True,
                                    name=f"loop-lane-{self.options.first_lane + i}") for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.5)
        self.report.finished_at = time.time()
        self.ws.store.append_event("loop.stopped", data={"merged": self.report.merged, "no_change": self.report.no_change,
                                                         "items": len(self.report.items)})
        return self.report

    def _lane(self, lane: int) -> None:
        agent = lanes.lane_agent_name(self.loop, lane)
        holder = f"{socket.gethostname()}:{os.getpid()}:lane-{lane}"
        cancel = self.options.cancel
        deferred: dict[str, float] = {}  # item key -> until: its agent was busy, try other items first
        while not cancel.is_set() and not self._enough():
            now = time.monotonic()
            claim = self._claim(holder, {k for k, until in deferred.items() if until > now})
            if claim is None:
                if self.options.once and not self._waiting_for_others():
                    return
                cancel.wait(min(self.loop.poll_secs, MAX_IDLE_WAIT if self.options.once else self.loop.poll_secs))
                continue
            try:
                result = self._work(claim, agent, f"lane-{lane}", holder)
            except Exception as exc:  # a bug must not silently kill the lane: record it, release, go on
                result = self._lane_error(claim, agent, f"lane-{lane}", exc)
            if result is None:  # the agent holding the item's work is busy in another lane
                deferred[claim.item.key] = time.monotonic() + self.loop.poll_secs
                cancel.wait(min(self.loop.poll_secs, MAX_IDLE_WAIT))
                continue
            with self._lock:
                self.report.items.append(result)
                if result.status in FINISHED:
                    self._finished.add(claim.item.key)
            if self.on_result is not None:
                self.on_result(result)

    def _lane_error(self, claim: Claim, agent: str, lane: str, exc: Exception) -> ItemResult:
        import traceback

        message = f"internal error: {type(exc).__name__}: {exc}"
        self.ws.store.append_event("loop.lane_error", agent=agent, data={
            "key": claim.item.key, "lane": lane, "error": message, "traceback": traceback.format_exc()[-4000:]})
        with self._lock:
            self._finished.add(claim.item.key)
        claim.release(self.ws.store, reason="error")
        return ItemResult(claim.item.key, "failed", lane, agent, message=message)

    def _enough(self) -> bool:
        limit = self.options.max_items
        return limit is not None and len(self.report.items) >= limit

    def _claim(self, holder: str, deferred: set[str]) -> Claim | None:
        from tutti.intake.claims import claim_next

        with self._lock:
            skip = set(self._finished) | deferred
        try:
            return claim_next(self.ws.store, self.sources, holder, ttl=self.ttl, skip=skip)
        except TuttiError as exc:  # the forge is down or rate-limited: wait and try again
            self.ws.store.append_event("loop.intake_error", data={"error": exc.message})
            return None

    def _waiting_for_others(self) -> bool:
        """Open items remain that someone else holds (they may finish, or their lease expire)."""
        from tutti.intake import leases

        with self._lock:
            done = set(self._finished)
        try:
            open_keys = [i.key for s in self.sources for i in s.list_open(limit=1000) if i.key not in done]
        except TuttiError:
            return True  # cannot tell while the intake is unreachable: keep waiting
        if not open_keys:
            return False
        leases.sweep(self.ws.store)
        return True

    def _work(self, claim: Claim, agent: str, lane: str, holder: str) -> ItemResult | None:
        """Work one claimed item; None (claim released) when the agent it needs is busy."""
        from tutti.intake import leases
        from tutti.loop import record

        rec = record.load(self.ws.store, claim.item.key)
        if rec.in_progress and rec.agent:
            agent = rec.agent  # the crashed lane's worktree holds the work: continue there
        # An agent (its session, worktree, branch) serves one item at a time, across lanes and
        # processes: a store lease like the item's, renewed by the same heartbeat.
        agent_lease = self._acquire_agent(agent, holder)
        if agent_lease is None:
            claim.release(self.ws.store, reason="agent busy")
            self.ws.store.append_event("loop.agent_busy", agent=agent, data={"key": claim.item.key, "lane": lane})
            return None
        try:
            return self._work_with(claim, agent, lane, agent_lease)
        finally:
            leases.release(self.ws.store, self._agent_key(agent), holder, agent_lease.fencing_token, reason="done")

    def _acquire_agent(self, agent: str, holder: str) -> Any:
        """The agent's lease. A crashed holder's agent lease expires moments after its item
        lease (taken just after it), so wait a little before giving the item back."""
        from tutti.intake import leases

        deadline = time.monotonic() + min(self.ttl, 10.0)
        while True:
            lease = leases.acquire(self.ws.store, self._agent_key(agent), holder, self.ttl)
            if lease is not None or time.monotonic() > deadline or self.options.cancel.wait(0.2):
                return lease

    def _agent_key(self, agent: str) -> str:
        return f"loop-agent:{self.ws.name}:{agent}"

    def _work_with(self, claim: Claim, agent: str, lane: str, agent_lease: Any) -> ItemResult:
        from tutti.loop import record

        item_cancel = threading.Event()
        stop_beat = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(claim, agent_lease, item_cancel, stop_beat), daemon=True)
        beat.start()
        relay = threading.Thread(target=self._relay_cancel, args=(item_cancel, stop_beat), daemon=True)
        relay.start()
        try:
            pipeline = Pipeline(self.ws, self.loop, self.queue, claim.source, claim.item, agent, lane, item_cancel,
                                forge=self.forge, fencing_token=claim.lease.fencing_token,
                                check_command=self.check_command,
                                fence=lambda: self._fence(claim, item_cancel))
            result = pipeline.run()
        except TuttiError as exc:
            result = ItemResult(claim.item.key, "failed", lane, agent, message=exc.message)
            record.record(self.ws.store, "loop.item.finished", claim.item.key, agent=agent, status="failed",
                          message=exc.message)
        finally:
            stop_beat.set()
            beat.join(5)
        if item_cancel.is_set() and not self.options.cancel.is_set() and result.status != "merged":
            result.status = "lost"  # the lease moved on: whoever holds it now finishes the item
        else:
            if result.status in FINISHED:
                with self._lock:  # before the release: no lane of ours may claim it again meanwhile
                    self._finished.add(claim.item.key)
            claim.release(self.ws.store, reason=result.status)
        return result

    def _fence(self, claim: Claim, item_cancel: threading.Event) -> None:
        """Renew the lease with its fencing token right before an irreversible step; a lease
        that expired or moved on means another lane owns the item now."""
        from tutti.intake.leases import LeaseLost
        from tutti.loop.outcome import ItemFailed

        try:
            claim.heartbeat(self.ws.store, self.ttl)
        except LeaseLost as exc:
            item_cancel.set()
            raise ItemFailed(f"lease lost before an irreversible step: {exc.message}") from None

    def _heartbeat(self, claim: Claim, agent_lease: Any, item_cancel: threading.Event, stop: threading.Event) -> None:
        from tutti.intake import leases

        every = max(0.5, self.ttl / 3)
        while not stop.wait(every):
            try:
                claim.heartbeat(self.ws.store, self.ttl)
                leases.heartbeat(self.ws.store, agent_lease.key, agent_lease.holder, agent_lease.fencing_token, self.ttl)
            except leases.LeaseLost as exc:
                self.ws.store.append_event("loop.lease_lost", data={"key": claim.item.key, "error": exc.message})
                item_cancel.set()
                return
            except Exception:  # a busy store: the next beat (TTL/3 later) tries again
                continue

    def _relay_cancel(self, item_cancel: threading.Event, stop: threading.Event) -> None:
        while not stop.is_set():
            if self.options.cancel.wait(0.5):
                item_cancel.set()
                return

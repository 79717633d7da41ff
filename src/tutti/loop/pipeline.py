"""One work item through one lane: implement (the loop's workflow), review–fix rounds, the
gate, the merge queue, close — each phase recorded (`loop.record`) so a lane taking over a
crashed lane's item continues where it stopped.

Runs go through the workflow engine, so they are checkpointed: the item's workflow run and
every fix round are ordinary runs (`tt runs show`), and a resumed one skips its done steps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tutti.loop import lanes, record
from tutti.loop.merge_queue import Change, MergeQueue
from tutti.loop.outcome import ItemFailed, ItemResult, NoChange
from tutti.loop.review import Finding, ReviewContext, collect_findings, fix_prompt

if TYPE_CHECKING:
    from tutti.config.models import Loop
    from tutti.intake.base import IntakeSource, WorkItem
    from tutti.loop.forge_link import ForgeLink
    from tutti.workspace import Workspace


@dataclass
class Pipeline:
    ws: Workspace
    loop: Loop
    queue: MergeQueue
    source: IntakeSource
    item: WorkItem
    agent: str
    lane: str
    cancel: threading.Event
    forge: ForgeLink | None = None
    fencing_token: int | None = None
    check_command: Callable[[str], Any] | None = None
    fence: Callable[[], None] = lambda: None  # raises ItemFailed once our lease is gone (before landing, closing)
    rec: record.ItemRecord = field(init=False)
    lws: Workspace = field(init=False)

    def __post_init__(self) -> None:
        self.rec = record.load(self.ws.store, self.item.key)
        self.lws = lanes.lane_workspace(self.ws, lanes.lane_config(self.ws.config, self.loop, self.agent, self.item))

    # -- the phases --------------------------------------------------------------------------
    def run(self) -> ItemResult:
        result = ItemResult(self.item.key, "failed", self.lane, self.agent, resumed=self.rec.in_progress)
        try:
            if self.rec.landed is None:
                result.run_id = self._implement()
                result.head = self._require_change(result.run_id)  # set: landed by this attempt before a crash
                result.pr = self._open_pr() if result.head is None else self.rec.pr
                if result.head is None:
                    result.rounds, result.head = self._review_and_land(result)
            else:
                result.run_id, result.head, result.pr = self.rec.run_id, self.rec.landed.get("head"), self.rec.pr
            self._close(result.head)
            result.status, result.message = "merged", f"landed in {(result.head or '')[:12]}"
        except NoChange as exc:
            result.status, result.message = "no_change", exc.message
            try:
                result.message = self._report_no_change(exc.message)
            except ItemFailed as lost:  # our lease moved on: the new holder reports it
                result.status, result.message = "failed", lost.message
        except ItemFailed as exc:
            result.status, result.message = ("cancelled" if self.cancel.is_set() else "failed"), exc.message
        self._record("loop.item.finished", status=result.status, message=result.message, head=result.head)
        return result

    def _implement(self) -> str:
        """The loop's workflow for this item: started once, resumed after a crash, never redone."""
        from tutti.loop.runs import resume_or_start

        if self.rec.run_id is None or not self.rec.in_progress:
            self._prepare_branch()
        name = lanes.item_workflow_name(self.loop.workflow, self.item)
        attempt = self.rec.attempts + (0 if self.rec.in_progress else 1)

        def started(run_id: str) -> None:
            self._record("loop.item.started", run_id=run_id, lane=self.lane, attempt=attempt,
                         title=self.item.title, intake=self.source.name, fencing_token=self.fencing_token)

        prior = self.rec.run_id if self.rec.in_progress else None
        if prior:
            self._record("loop.item.resumed", run_id=prior, lane=self.lane)
        res = resume_or_start(self.lws, name, prior, cancel=self.cancel, on_started=started)
        if not res.success:
            raise ItemFailed(f"workflow run {res.run_id} {res.status}: {res.detail}")
        return res.run_id

    def _require_change(self, run_id: str | None, *, when: str = "implement") -> str | None:
        """Raise NoChange when the lane's branch has nothing to land — unless an earlier
        attempt of this item already landed it (a lane killed after the merge): then the
        head it landed in, recorded now as this item's landing."""
        from tutti.loop import nochange

        target = self.queue.lander.current()
        if nochange.has_change(self.ws.root, target, f"tutti/{self.agent}"):
            return None
        return self._landed_earlier_or_raise(run_id, target, when)

    def _landed_earlier_or_raise(self, run_id: str | None, target: str, when: str) -> str:
        from tutti.loop import nochange

        branch = f"tutti/{self.agent}"
        head = nochange.landed_earlier(self.ws.store, self.ws.root, self.item.key, target, branch)
        if head is None and self.forge is not None and self.rec.pr:
            head = self.forge.merged_as(self.rec.pr)  # the forge merged our PR before the lane died
        if head is None:
            raise NoChange(nochange.reason(self.ws.root, self._worktree(), target, branch, run_id, when=when))
        self._record("loop.item.landed", head=head, lane=self.lane, already=True)
        return head

    def _report_no_change(self, message: str) -> str:
        """The item stays open: say why on it (and on its PR, never merged), record it."""
        from tutti.errors import TuttiError

        self.fence()  # a lane that lost its lease says nothing: the new holder reports
        body = (f"tutti loop did not merge this item: {message}. It is left open and its claim released "
                f"({self.lane}, agent {self.agent}, attempt {self.rec.attempts}).")
        try:
            if self.forge is not None:
                marker = f"tutti-loop no-change item={self.item.key} attempt={self.rec.attempts}"
                self.forge.comment_item(self.source, self.item, body, marker=marker, pr=self.rec.pr)
            else:
                self.source.comment(self.item, body)
        except TuttiError as exc:  # the report must not turn into a failure: the event still says it
            message += f" (could not comment on the item: {exc.message})"
        self._record("loop.item.no_change", reason=message, lane=self.lane, pr=self.rec.pr)
        return message

    def _worktree(self):
        from tutti.sessions import worktree

        return worktree.worktree_dir(self.ws.root, self.agent)

    def _prepare_branch(self) -> None:
        """A fresh item starts the lane's branch at the target's tip (its worktree reset)."""
        from tutti.sessions import worktree

        branch = f"tutti/{self.agent}"
        path = worktree.prepare(self.ws.root, self.ws.state_dir, self.agent, branch).path
        target = self.queue.lander.current()
        worktree.git(path, "reset", "-q", "--hard")
        worktree.git(path, "clean", "-fdq")
        worktree.git(path, "checkout", "-q", "-B", branch, target)

    def _open_pr(self) -> dict[str, Any] | None:
        if self.forge is None:
            return None
        if self.rec.pr is not None:  # opened by an earlier attempt or the crashed lane: bring it up to date
            self.forge.update_pr(self.rec.pr, f"tutti/{self.agent}")
            return self.rec.pr
        pr = self.forge.open_pr(self.item, f"tutti/{self.agent}")
        self.rec.pr = pr
        self._record("loop.pr.opened", **pr)
        return pr

    def _review_and_land(self, result: ItemResult) -> tuple[int, str | None]:
        round_no = self._resume_fix(result)
        while True:
            self._check_cancel()
            findings = collect_findings(self._review_ctx(round_no))
            if not findings and self.forge is not None and self.rec.pr and "bot" not in self.loop.reviewers:
                # The forge's own gate even without the bot reviewer: threads resolved, checks green.
                findings = self.forge.review_findings(self.rec.pr, self.loop.bot_logins)
            self._record("loop.review.round", round=round_no, findings=[f.to_dict() for f in findings],
                         verdict="request_changes" if findings else "approve")
            if not findings:
                self._gate()
                self.fence()  # a lane whose lease expired must not land: the new holder will
                outcome = self.queue.land(Change(f"tutti/{self.agent}", lane=self.lane, item=self.item.key,
                                                 title=self.item.title, pr=self.rec.pr))
                if outcome.landed:
                    self._record("loop.item.landed", head=outcome.head, lane=self.lane, round=round_no)
                    if self.forge is not None and self.rec.pr:
                        self.forge.record_merged(self.rec.pr, outcome.head or "")
                    return round_no, outcome.head
                if outcome.reason == "no_change":  # the target has it all: landed by us earlier, or nothing
                    return round_no, self._landed_earlier_or_raise(self.rec.run_id, self.queue.lander.current(),
                                                                   f"review round {round_no}")
                findings = [Finding("merge_queue", f"landing failed ({outcome.reason}):\n{outcome.output}")]
                self._record("loop.merge.rejected", reason=outcome.reason, output=outcome.output)
            if round_no > self.loop.max_review_rounds:
                first = findings[0]
                raise ItemFailed(f"changes still requested after {self.loop.max_review_rounds} fix round(s) "
                                 f"({len(findings)} finding(s)); {first.reviewer}: {first.body.strip()[:800]}")
            result.fix_runs.append(self._fix(round_no, fix_prompt(self.item, round_no, findings), findings=findings))
            round_no += 1

    def _resume_fix(self, result: ItemResult) -> int:
        """The round to review next; a fix run the crashed lane left half-done is resumed."""
        last = self.rec.last_fix_round
        if last and not self.rec.fixes[last]["finished"]:
            result.fix_runs.append(self._fix(last, self.rec.fixes[last]["text"], self.rec.fixes[last]["run_id"]))
        return last + 1

    def _fix(self, round_no: int, text: str, prior: str | None = None, findings: list[Finding] | None = None) -> str:
        from tutti.loop.runs import resume_or_start

        wf = lanes.fix_workflow(self.loop, self.agent, self.item, round_no, text)
        self.lws.config = lanes.with_workflow(self.lws.config, wf)

        def started(run_id: str) -> None:
            self._record("loop.fix.started", run_id=run_id, round=round_no, text=text)

        res = resume_or_start(self.lws, wf.name, prior, cancel=self.cancel, on_started=started)
        if not res.success:
            raise ItemFailed(f"fix round {round_no} (run {res.run_id}) {res.status}: {res.detail}")
        if self.forge is not None and self.rec.pr:
            self.forge.update_pr(self.rec.pr, f"tutti/{self.agent}")  # the PR shows the fix
            self.forge.addressed(findings or [])
        self._record("loop.fix.finished", run_id=res.run_id, round=round_no)
        return res.run_id

    def _review_ctx(self, round_no: int) -> ReviewContext:
        return ReviewContext(self.lws, self.loop, self.item, self.agent, round_no, self.cancel,
                             verify=self.queue.verify, forge=self.forge, pr=self.rec.pr,
                             check_command=self.check_command)

    def _gate(self) -> None:
        from tutti.loop.gate import check_gate

        approval_id = check_gate(self.lws, self.loop, self.item, self.agent, self.rec, self.cancel,
                                 on_approval=lambda aid: self._record("loop.approval.requested", approval_id=aid))
        self.rec.approval_id = approval_id

    def _close(self, head: str | None) -> None:
        if self.rec.closed or not self.loop.close_items:
            return
        self.fence()
        where = self.forge.merge_url(head) if self.forge is not None and head else (head or "")
        pr = f" (PR #{self.rec.pr['number']})" if self.rec.pr else ""
        body = f"Merged by tutti loop in {where}{pr}: {self.item.title}"
        if self.forge is not None:
            self.forge.close_item(self.source, self.item, body)
        else:
            self.source.close(self.item, body)
        self.rec.closed = True
        self._record("loop.item.closed", head=head, comment=body)

    # -- plumbing ----------------------------------------------------------------------------
    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise ItemFailed("stopped: the lane was cancelled or lost its lease")

    def _record(self, kind: str, *, run_id: str | None = None, **data: Any) -> None:
        record.record(self.ws.store, kind, self.item.key, run_id=run_id, agent=self.agent, **data)
        if kind == "loop.item.started":
            self.rec.run_id, self.rec.attempts = run_id, int(data.get("attempt") or 1)

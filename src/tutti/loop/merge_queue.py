"""The merge queue: lanes land their changes onto ONE target branch, never breaking it.

Serial (`batch = 1`, the default): each change is squashed onto the target's current tip (one
commit per change, so a change's broken intermediate commits never land) in a
private worktree (`.tutti/merge-queue/<target>`), the verify commands run there, and only a
green result moves the target. `batch = K`: up to K waiting changes are replayed together and
verified once; when that fails the batch is split in halves and each half goes through the same
procedure (the left half lands first, the right half is replayed onto whatever landed), so a
bad change is isolated in about log2(K) extra verifies and named, with its failing output,
while the good ones land. Every state the target is moved to has passed verify.

Moving the target is a compare-and-swap: a `Lander` gets (changes, new head, expected old tip)
and raises `TargetMoved` when someone else moved it first; the queue then starts over from the
new tip. `RefLander` moves a local branch; the loop driver plugs in one that pushes to a forge.
Lanes call `land(change)` from their own threads; whichever lane finds the queue idle processes
it ("combining"), the others wait for their ticket. A file lock keeps two processes from
sharing the queue's worktree.
"""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tutti import proc

GIT_TIMEOUT = 300
OUTPUT_TAIL_LINES = 40


class TargetMoved(Exception):
    """The target branch is no longer at the tip the batch was verified on."""


@dataclass
class Change:
    """One lane's work waiting to land: the commits of `branch` not yet on the target."""

    branch: str
    lane: str = ""
    item: str | None = None  # the work item id, for events and the lane's feedback
    title: str = ""
    pr: dict[str, Any] | None = None  # the forge's pull request for it, when there is one
    commit: str | None = None  # set by the queue: this change's squashed commit in the batch


@dataclass
class Outcome:
    """What happened to one change. `landed` ones carry the target head they landed in;
    rejected ones carry why (`conflict`, `verify_failed`, `no_change`: nothing to land, the
    target already has its content) and the failing output."""

    change: Change
    landed: bool
    head: str | None = None
    reason: str | None = None
    output: str = ""
    verified_with: list[str] = field(default_factory=list)  # branches in the verified batch

    def to_dict(self) -> dict[str, Any]:
        return {"branch": self.change.branch, "lane": self.change.lane, "item": self.change.item,
                "landed": self.landed, "head": self.head, "reason": self.reason, "output": self.output,
                "verified_with": self.verified_with}


class Lander(Protocol):
    def current(self) -> str:
        """The target's tip now."""

    def move(self, changes: Sequence[Change], head: str, expected: str) -> dict[str, Any]:
        """Move the target from `expected` to `head`; raise TargetMoved if it is elsewhere."""


@dataclass
class RefLander:
    """Lands by moving a local branch of `repo` (fast-forwarding its checkout when clean)."""

    repo: Path
    target: str

    def current(self) -> str:
        return _git(self.repo, "rev-parse", "--verify", f"refs/heads/{self.target}^{{commit}}").stdout.strip()

    def move(self, changes: Sequence[Change], head: str, expected: str) -> dict[str, Any]:
        checked_out = _git(self.repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False).stdout.strip()
        if checked_out == self.target:
            # The user's checkout of the target must follow its ref, or it would look like
            # every landed change was reverted in the working tree.
            if self.current() != expected:
                raise TargetMoved(self.target)
            res = _git(self.repo, "merge", "--ff-only", "-q", head, check=False)
            if not res.ok:
                raise TargetMoved(f"{self.target}: {_tail(res.stderr or res.stdout, 3)}")
            return {"target": self.target, "head": head}
        res = _git(self.repo, "update-ref", f"refs/heads/{self.target}", head, expected, check=False)
        if not res.ok:
            raise TargetMoved(self.target)
        return {"target": self.target, "head": head}


@dataclass
class RemoteLander:
    """Lands by pushing to `remote`'s branch (no pull request): a push that is not a fast-forward
    of the verified base is refused by git, which is the compare-and-swap."""

    repo: Path
    remote: str
    target: str

    def current(self) -> str:
        tracking = f"refs/remotes/{self.remote}/{self.target}"
        _git(self.repo, "fetch", "-q", self.remote, f"+refs/heads/{self.target}:{tracking}")
        return _git(self.repo, "rev-parse", f"{tracking}^{{commit}}").stdout.strip()

    def move(self, changes: Sequence[Change], head: str, expected: str) -> dict[str, Any]:
        pushed = _git(self.repo, "push", "-q", self.remote, f"{head}:refs/heads/{self.target}", check=False)
        if not pushed.ok:
            raise TargetMoved(f"{self.remote}/{self.target}: {_tail(pushed.stderr or pushed.stdout, 2)}")
        _git(self.repo, "update-ref", f"refs/remotes/{self.remote}/{self.target}", head, check=False)
        return {"target": f"{self.remote}/{self.target}", "head": head}


@dataclass
class _Ticket:
    change: Change
    queued_at: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome | None = None


OnEvent = Callable[[str, dict[str, Any]], None]


class MergeQueue:
    """One target branch's queue. `verify` are shell command strings from the user's config
    (run with `/bin/sh -c` in the queue's worktree); an empty list verifies nothing."""

    def __init__(self, repo: Path, lander: Lander, *, verify: Sequence[str] = (), batch: int = 1,
                 batch_wait_secs: float = 0.0, verify_timeout_secs: float = 1800.0, name: str = "main",
                 state_dir: Path | None = None, on_event: OnEvent | None = None,
                 check_command: Callable[[str], Any] | None = None) -> None:
        self.repo, self.lander, self.verify = Path(repo), lander, list(verify)
        self.batch, self.batch_wait_secs = max(1, int(batch)), batch_wait_secs
        self.verify_timeout_secs, self.name = verify_timeout_secs, name
        self.state_dir = Path(state_dir) if state_dir else self.repo / ".tutti" / "merge-queue"
        self.worktree = self.state_dir / _safe(name)
        self.on_event = on_event
        self.check_command = check_command  # the permission policy: raises TuttiError when blocked
        self._pending: list[_Ticket] = []
        self._pending_lock = threading.Lock()
        self._worker = threading.Lock()
        self.verifies = 0  # verify runs so far (the bisection's cost, for benchmarks and tests)

    # -- the lanes' side -----------------------------------------------------------------------
    def submit(self, change: Change) -> _Ticket:
        ticket = _Ticket(change)
        with self._pending_lock:
            self._pending.append(ticket)
        self._emit("merge_queue.queued", {"branch": change.branch, "lane": change.lane, "item": change.item})
        return ticket

    def land(self, change: Change, *, timeout: float | None = None) -> Outcome:
        """Queue `change` and block until it has landed or been rejected."""
        ticket = self.submit(change)
        return self.wait(ticket, timeout=timeout)

    def wait(self, ticket: _Ticket, *, timeout: float | None = None) -> Outcome:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not ticket.done.is_set():
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"merge queue: {ticket.change.branch} not processed within {timeout:g}s")
            if self._worker.acquire(blocking=False):
                try:
                    self.process_once()
                finally:
                    self._worker.release()
            else:
                ticket.done.wait(0.05)
        assert ticket.outcome is not None
        return ticket.outcome

    # -- processing ----------------------------------------------------------------------------
    def process_once(self) -> list[Outcome]:
        """Take up to `batch` waiting changes and land or reject each of them."""
        taken = self._take()
        if not taken:
            return []
        outcomes: list[Outcome] = []
        try:
            with self._file_lock():
                self._ensure_worktree()
                outcomes = self._land_group([t.change for t in taken])
        finally:
            by_branch = {o.change.branch: o for o in outcomes}
            for t in taken:
                t.outcome = by_branch.get(t.change.branch) or Outcome(t.change, False, reason="error",
                                                                       output="merge queue failed while processing")
                t.done.set()
        return outcomes

    def _take(self) -> list[_Ticket]:
        if self.batch > 1 and self.batch_wait_secs > 0:
            deadline = time.monotonic() + self.batch_wait_secs
            while time.monotonic() < deadline:
                with self._pending_lock:
                    if len(self._pending) >= self.batch:
                        break
                time.sleep(0.02)
        with self._pending_lock:
            taken, self._pending = self._pending[:self.batch], self._pending[self.batch:]
        return taken

    def _land_group(self, changes: list[Change]) -> list[Outcome]:
        """Land what can land of `changes` (in order), bisecting when their batch fails."""
        for _ in range(20):  # the target moving under us is retried from its new tip
            base = self.lander.current()
            head, applied, conflicts, empty = self._replay(base, changes)
            outcomes = [self._reject(c, "conflict", out) for c, out in conflicts]
            outcomes += [self._reject(c, "no_change", f"{c.branch} adds nothing to the target {base[:12]}: "
                                                      "its content is already there") for c in empty]
            if not applied:
                return outcomes
            ok, output = self._run_verify(applied)
            if ok:
                try:
                    moved = self.lander.move(applied, head, base) or {}
                except TargetMoved:
                    self._emit("merge_queue.target_moved", {"branches": [c.branch for c in applied]})
                    continue
                head = moved.get("head") or head  # a forge merge makes its own commit (same tree)
                for c in applied:
                    outcomes.append(Outcome(c, True, head=head, verified_with=[a.branch for a in applied]))
                self._emit("merge_queue.landed", {"head": head, "base": base, "branches": [c.branch for c in applied],
                                                  "items": [c.item for c in applied]})
                return outcomes
            if len(applied) == 1:
                return [*outcomes, self._reject(applied[0], "verify_failed", output)]
            self._emit("merge_queue.bisect", {"branches": [c.branch for c in applied]})
            middle = len(applied) // 2
            return outcomes + self._land_group(applied[:middle]) + self._land_group(applied[middle:])
        return [self._reject(c, "target_busy", "the target branch kept moving; try again") for c in changes]

    def _replay(self, base: str, changes: list[Change]
                ) -> tuple[str, list[Change], list[tuple[Change, str]], list[Change]]:
        """Squash each change onto `base` in the queue worktree, one commit per change: a
        change's own intermediate commits (e.g. a first attempt that broke the tests and
        its fix) never reach the target, only the reviewed end state does."""
        wt = self.worktree
        _git(wt, "checkout", "-q", "--detach", "--force", base)
        _git(wt, "clean", "-fdq")
        applied: list[Change] = []
        conflicts: list[tuple[Change, str]] = []
        empty: list[Change] = []
        for change in changes:
            before = _git(wt, "rev-parse", "HEAD").stdout.strip()
            if not _git(wt, "rev-parse", "--verify", "--quiet", f"{change.branch}^{{commit}}", check=False).ok:
                conflicts.append((change, f"branch {change.branch} not found"))
                continue
            merged = _git(wt, "merge", "--squash", "--no-commit", change.branch, check=False)
            if not merged.ok:
                files = _git(wt, "diff", "--name-only", "--diff-filter=U", check=False).stdout.split()
                _git(wt, "reset", "-q", "--hard", before, check=False)
                conflicts.append((change, f"conflict replaying {change.branch} onto the target in "
                                          f"{', '.join(files) or 'its commits'}: rebase it onto the target tip"))
                continue
            change.commit = None
            if _git(wt, "diff", "--cached", "--quiet", check=False).ok:
                # Nothing staged: the target already has this content (or the branch never had
                # any). That is not a landing — the lane decides whether an earlier attempt of
                # the item landed it (crash after the merge) or there was nothing to land.
                empty.append(change)
                continue
            _git(wt, "commit", "-q", "--no-verify", "-m", _message(change))
            change.commit = _git(wt, "rev-parse", "HEAD").stdout.strip()
            applied.append(change)
        return _git(wt, "rev-parse", "HEAD").stdout.strip(), applied, conflicts, empty

    def _run_verify(self, batch: list[Change]) -> tuple[bool, str]:
        self.verifies += 1
        for command in self.verify:
            if self.check_command is not None:
                from tutti.errors import TuttiError

                try:
                    self.check_command(command)
                except TuttiError as exc:
                    return False, f"$ {command}  (not run)\n{exc.message}"
            res = proc.run(proc.shell_argv(command), cwd=self.worktree, timeout=self.verify_timeout_secs)
            if not res.ok:
                what = "timed out" if res.timed_out else f"exit {res.returncode}"
                output = f"$ {command}  ({what})\n{_tail(res.stdout + res.stderr, OUTPUT_TAIL_LINES)}"
                self._emit("merge_queue.verify_failed", {"branches": [c.branch for c in batch], "command": command,
                                                         "output": output})
                return False, output
        self._emit("merge_queue.verified", {"branches": [c.branch for c in batch]})
        return True, ""

    def _reject(self, change: Change, reason: str, output: str) -> Outcome:
        self._emit("merge_queue.rejected", {"branch": change.branch, "lane": change.lane, "item": change.item,
                                            "reason": reason, "output": output})
        return Outcome(change, False, reason=reason, output=output)

    # -- plumbing ------------------------------------------------------------------------------
    def _ensure_worktree(self) -> None:
        if (self.worktree / ".git").exists():
            return
        self.worktree.parent.mkdir(parents=True, exist_ok=True)
        _git(self.repo, "worktree", "prune", check=False)
        _git(self.repo, "worktree", "add", "-q", "--detach", "--force", str(self.worktree), self.lander.current())

    @contextmanager
    def _file_lock(self):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / f"{_safe(self.name)}.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        if self.on_event is not None:
            try:
                self.on_event(kind, {"queue": self.name, **data})
            except Exception:  # a recorder failing must never wedge the queue
                pass


def _git(cwd: Path, *args: str, check: bool = True) -> proc.ProcResult:
    res = proc.run(["git", *args], cwd=cwd, timeout=GIT_TIMEOUT)
    if check and not res.ok:
        from tutti.errors import RoutingError

        raise RoutingError(f"git {' '.join(args[:3])} failed in {cwd}: {_tail(res.stderr or res.stdout, 2)}",
                           hint="check the repository with `git status`")
    return res


def _message(change: Change) -> str:
    subject = change.title or f"land {change.branch}"
    trailer = [f"Landed-From: {change.branch}"] + ([f"Work-Item: {change.item}"] if change.item else []) \
        + ([f"Lane: {change.lane}"] if change.lane else [])
    return f"{subject}\n\n" + "\n".join(trailer) + "\n"


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "queue"

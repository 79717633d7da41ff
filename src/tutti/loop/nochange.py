"""Is there anything to land? An item whose lane produced no change is not "merged".

Two questions the pipeline asks before it opens a PR and again when the merge queue finds the
lane's branch adds nothing to the target:

* `has_change` — would squashing the lane's branch onto the target's tip change the target?
  (no commit of its own, or commits whose content the target already has → no).
* `landed_earlier` — did an earlier attempt of THIS item already land it? A lane killed after
  the merge queue moved the target but before it recorded `loop.item.landed` leaves a lane
  branch whose content is already on the target; the lane that resumes the item must finish
  it as merged, not report "nothing to land". The evidence is the queue's own record (the
  `merge_queue.landed` event naming the item) or, when the process died between moving the
  target and writing that event, the `Work-Item:` trailer of the queue's squashed commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tutti import proc

if TYPE_CHECKING:
    from tutti.store import Store

GIT_TIMEOUT = 120


def _git(cwd: Path, *args: str) -> proc.ProcResult:
    return proc.run(["git", *args], cwd=cwd, timeout=GIT_TIMEOUT)


def commits_ahead(repo: Path, target: str, branch: str) -> int:
    """Commits of `branch` not on `target`; -1 when git cannot tell (a missing branch)."""
    res = _git(repo, "rev-list", "--count", f"{target}..{branch}")
    return int(res.stdout.strip() or 0) if res.ok else -1


def has_change(repo: Path, target: str, branch: str) -> bool:
    """True when merging `branch` onto `target` (a sha) would change the target's tree. A
    conflict counts as a change (the merge queue reports it and the author fixes it), and so
    does a branch git cannot read (the queue names what is wrong with it)."""
    ahead = commits_ahead(repo, target, branch)
    if ahead <= 0:
        return ahead < 0
    merged = _git(repo, "merge-tree", "--write-tree", target, branch)
    if merged.returncode == 1:
        return True  # conflicts: there is something to land, the queue will say what is wrong
    if not merged.ok:  # an old git without --write-tree: compare with the merge base instead
        base = _git(repo, "merge-base", target, branch).stdout.strip()
        return not base or not _git(repo, "diff", "--quiet", base, branch).ok
    tree = merged.stdout.split("\n", 1)[0].strip()
    return tree != _git(repo, "rev-parse", f"{target}^{{tree}}").stdout.strip()


def dirty_files(worktree: Path) -> list[str]:
    """Paths the agent changed but never committed in the lane's worktree."""
    if not (worktree / ".git").exists():
        return []
    res = _git(worktree, "status", "--porcelain", "--untracked-files=all")
    return [line[3:] for line in res.stdout.splitlines() if line.strip()] if res.ok else []


def reason(repo: Path, worktree: Path, target: str, branch: str, run_id: str | None, *, when: str) -> str:
    """One line saying why there is nothing to land, and what the user can look at."""
    ahead = commits_ahead(repo, target, branch)
    what = f"the workflow run {run_id}" if run_id and when == "implement" else f"the lane ({when})"
    if ahead == 0:
        text = f"{what} made no commit on {branch} (it is at the target's tip {target[:12]}): nothing to merge"
    else:
        moment = "after the implement run" if when == "implement" else f"at {when}"
        text = (f"{branch} has {ahead} commit(s) but {moment} they change nothing on the target {target[:12]} "
                "(their content is already there): nothing to merge")
    dirty = dirty_files(worktree)
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        text += f"; {len(dirty)} uncommitted file(s) left in {worktree} ({shown}) — the implementer must commit its work"
    return text


def landed_earlier(store: Store, repo: Path, key: str, target: str, branch: str) -> str | None:
    """The target head THIS attempt of item `key` landed in before its lane died, or None.

    Only this attempt counts (an item merged long ago, reopened and now producing nothing is
    not "already landed"): queue records after the attempt's `loop.item.started`, and commits
    on the target since the lane's branch was cut from it."""
    rows = store.query(
        "SELECT json_extract(data, '$.head') AS head FROM events WHERE kind = 'merge_queue.landed' "
        "AND seq > (SELECT COALESCE(MAX(seq), 0) FROM events WHERE kind = 'loop.item.started' "
        "           AND json_extract(data, '$.key') = ?) "
        "AND EXISTS (SELECT 1 FROM json_each(events.data, '$.items') WHERE json_each.value = ?) "
        "ORDER BY seq DESC LIMIT 1", (key, key))
    if rows and rows[0]["head"]:
        return str(rows[0]["head"])
    base = _git(repo, "merge-base", target, branch).stdout.strip()
    trailer = f"Work-Item: {key}"
    span = f"{base}..{target}" if base else target
    found = _git(repo, "log", "-n", "20", "--format=%H%n%B%x00", "--fixed-strings", f"--grep={trailer}", span)
    for entry in (found.stdout.split("\0") if found.ok else []):
        sha, _, body = entry.strip().partition("\n")
        if trailer in (line.strip() for line in body.splitlines()):  # exact: q#3 is not q#30
            return sha
    return None

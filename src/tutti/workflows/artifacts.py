"""Artifacts a prompt step waits for or captures (inventory §6.3–6.4).

* `expand_glob`: `~` → $HOME, `{workspace}` → the workspace *name* (as in the original: tools such
  as gstack file artifacts under a per-project folder), `{agent}` → agent name,
  `{slug}` → a slug of the workspace name (the original shelled out to a gstack binary at a
  hard-coded path; a generic engine must not, so `{slug}` is computed, or taken from env
  `TUTTI_SLUG` when a skill needs a specific value).
* `snapshot` / `new_files`: which files match a glob now, so "new" means created or modified
  after the snapshot — a stale file from a previous run never counts as the result.
* `wait_for_file`: artifact polling with a predicate (e.g. "parses as JSON"), a cancel event
  and an `alive` probe so a dead session fails fast instead of waiting out the timeout.
"""

from __future__ import annotations

import glob as globmod
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tutti.errors import TuttiError

_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    return _SLUG_UNSAFE.sub("-", text.lower()).strip("-") or "workspace"


def expand_glob(pattern: str, *, workspace_root: Path, workspace_name: str, agent: str | None) -> str:
    """Interpolate `~`, `{workspace}`, `{agent}`, `{slug}`; relative results are workspace-relative."""
    out = pattern
    if out == "~" or out.startswith("~/"):
        out = str(Path.home()) + out[1:]
    out = out.replace("{workspace}", workspace_name)
    out = out.replace("{agent}", agent or "")
    if "{slug}" in out:
        out = out.replace("{slug}", os.environ.get("TUTTI_SLUG") or slugify(workspace_name))
    if not os.path.isabs(out):
        out = str(workspace_root / out)
    return out


@dataclass(frozen=True)
class FileStamp:
    mtime_ns: int
    size: int


Snapshot = dict[str, FileStamp]


def snapshot(pattern: str) -> Snapshot:
    """Every regular file matching `pattern` now, with its mtime and size."""
    out: Snapshot = {}
    for name in globmod.glob(pattern, recursive=True):
        try:
            st = os.stat(name)
        except OSError:
            continue
        if os.path.isfile(name):
            out[name] = FileStamp(st.st_mtime_ns, st.st_size)
    return out


def new_files(pattern: str, before: Snapshot) -> list[Path]:
    """Files matching `pattern` that are new or changed since `before`, newest first."""
    now = snapshot(pattern)
    fresh = [(stamp.mtime_ns, name) for name, stamp in now.items() if before.get(name) != stamp]
    return [Path(name) for _, name in sorted(fresh, reverse=True)]


class ArtifactTimeout(TuttiError):
    category = "workflow"


class ArtifactSessionGone(TuttiError):
    category = "runtime"


def wait_for_file(
    find: Callable[[], Path | None],
    *,
    timeout: float,
    poll: float = 0.5,
    cancel: threading.Event | None = None,
    alive: Callable[[], bool] | None = None,
    what: str = "artifact",
    settle: float = 0.0,
) -> Path:
    """Poll `find()` until it returns a path (and, with `settle`, the file stopped growing).

    Raises ArtifactTimeout after `timeout` seconds, ArtifactSessionGone when `alive()` says the
    producer is gone (one last look is taken first), TuttiError('cancelled') on cancel.
    """
    deadline = time.monotonic() + timeout
    last_size: dict[Path, int] = {}
    while True:
        found = find()
        if found is not None:
            if settle <= 0:
                return found
            try:
                size = found.stat().st_size
            except OSError:
                size = -1
            if last_size.get(found) == size:
                return found
            last_size[found] = size
        elif alive is not None and not alive():
            found = find()
            if found is not None:
                return found
            raise ArtifactSessionGone(f"session exited before {what} was produced",
                                      hint="check the agent's logs (`tt logs AGENT`) and re-run")
        if time.monotonic() >= deadline:
            raise ArtifactTimeout(f"{what} not found after {int(timeout)}s of polling",
                                  hint="raise wait_timeout_secs, or check that the agent writes the file")
        wait = min(max(poll, settle), max(0.0, deadline - time.monotonic()))
        if cancel is not None:
            if cancel.wait(wait):
                raise TuttiError(f"cancelled while waiting for {what}")
        else:
            time.sleep(wait)

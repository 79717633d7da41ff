"""Images from the dashboard into an agent's working directory (`POST /v1/actions/upload`).

The bytes decide the type (magic numbers of PNG, JPEG, GIF, WebP — never the file name or the
browser's content type), at most `MAX_BYTES`. The file is stored as
`<agent's workdir>/.tutti-inject/uploads/<utc time>-<sha256 prefix>.<ext>`: a name we choose, so
nothing the browser sends becomes a path, and the folder is git-excluded (like the prompt step's
injected files) so an upload never ends up in the agent's commits. The result carries the
relative path the dashboard appends to the next prompt.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tutti.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from tutti.workspace import Workspace

MAX_BYTES = 5 * 1024 * 1024
UPLOAD_DIR = ".tutti-inject/uploads"


@dataclass
class Upload:
    agent: str
    path: str  # relative to the agent's working directory
    absolute: str
    kind: str
    bytes: int
    sha256: str
    reference: str  # the line to add to the next prompt

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def image_kind(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def agent_workdir(ws: Workspace, agent: str) -> Path:
    from tutti.ops.resolve import find_agent

    cfg = find_agent(ws, agent)
    return ws.worktree_path(cfg.name) if ws.config.uses_worktree(cfg) else ws.root


def save_image(ws: Workspace, agent: str, data: bytes, *, filename: str | None = None) -> Upload:
    """Validate and store one image for `agent`; records `agent.image_uploaded`."""
    from tutti.paths import inside

    if len(data) > MAX_BYTES:
        raise UsageError(f"image is {len(data) // 1024} KiB (at most {MAX_BYTES // (1024 * 1024)} MiB)",
                         hint="scale it down or crop it")
    if not data:
        raise UsageError("the upload is empty", hint="choose a PNG, JPEG, GIF or WebP image")
    kind = image_kind(data)
    if kind is None:
        raise UsageError("not a PNG, JPEG, GIF or WebP image (checked by its bytes, not its name)",
                         hint="export the picture as PNG or JPEG and upload that")
    workdir = agent_workdir(ws, agent)
    if not workdir.is_dir():
        raise UsageError(f"agent '{agent}' has no working directory yet ({workdir})",
                         hint=f"start it first: tt up {agent}")
    digest = hashlib.sha256(data).hexdigest()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    rel = f"{UPLOAD_DIR}/{stamp}-{digest[:12]}.{'jpg' if kind == 'jpeg' else kind}"
    target = workdir / rel
    if not inside(ws.root, target):
        raise UsageError(f"upload path {target} would leave the workspace", hint="check the agent's worktree")
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(target, data)
    _exclude(workdir)
    reference = f"[attached image: {rel}]"
    ws.store.append_event("agent.image_uploaded", agent=agent, data={
        "path": rel, "kind": kind, "bytes": len(data), "sha256": digest, "filename": (filename or "")[:200]})
    return Upload(agent, rel, str(target), kind, len(data), digest, reference)


def _exclude(workdir: Path) -> None:
    from tutti.gates.review import _exclude_from_git

    _exclude_from_git(workdir, ".tutti-inject/")


def _write_atomic(path: Path, data: bytes) -> None:
    """temp + rename in the same folder: a reader never sees half an image."""
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

"""Step outputs across hosts, without a shared disk.

A step's outputs (`output_json`, artifacts; `workflows.outputs`) are files under
`.tutti/state/workflow-outputs/<run>/` of the machine that ran it, and later steps find them by
path (`{{output.ID.json}}` / `{{output.ID.path}}`). Across machines the content travels instead:
* a host's step result carries each output file's content (`pack`, up to `FILE_CAP` bytes each);
  the control writes it into its own run dir and records the control's path (`land_on_control`);
* `begin_wave` gives a step of a hosted agent the outputs its config refers to (`for_step`), and
  the host writes them into its own run dir before the step runs (`unpack`): the step sees local
  paths, exactly as on one machine.
An output over the cap does not travel (named in the step's `side_effects.outputs_not_carried`).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

FILE_CAP = 256 * 1024  # per output file: activity payloads stay far below Temporal's 2 MB limit
_REF = re.compile(r"\{\{\s*output\.([A-Za-z0-9_-]+)\.")


def _write_atomic(path: Path, data: bytes) -> None:
    """Temp file + rename in the same directory: a reader never sees half an output."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pack(paths: dict[str, str], only: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """{id: {"name", "b64"}} for the output files that exist and fit; {"name", "too_large"} else."""
    out: dict[str, dict[str, Any]] = {}
    for output_id, raw in sorted(paths.items()):
        if only is not None and output_id not in only:
            continue
        path = Path(raw)
        try:
            size = path.stat().st_size
            if size > FILE_CAP:
                out[output_id] = {"name": path.name, "too_large": size}
                continue
            out[output_id] = {"name": path.name, "b64": base64.b64encode(path.read_bytes()).decode("ascii")}
        except OSError:
            continue  # gone (a resumed run on another machine): the step reports the missing output
    return out


def unpack(run_dir: Path, files: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Write carried outputs into this machine's run dir; {id: local path} of those written."""
    paths: dict[str, str] = {}
    for output_id, item in files.items():
        name = Path(item.get("name") or "").name  # a bare file name: never a path out of run_dir
        if "b64" not in item or not name or name in (".", ".."):
            continue
        target = run_dir / name
        _write_atomic(target, base64.b64decode(item["b64"]))
        paths[output_id] = str(target)
    return paths


def land_on_control(run_dir: Path, outcome: dict[str, Any], files: dict[str, dict[str, Any]]) -> None:
    """A host step's outcome, with its outputs rewritten to the control's copies."""
    written = unpack(run_dir, files)
    outputs = outcome.setdefault("outputs", {})
    outputs.update(written)
    too_large = {i: f["too_large"] for i, f in files.items() if "too_large" in f}
    if too_large:
        outcome.setdefault("side_effects", {})["outputs_not_carried"] = {
            i: f"{size} bytes, over the {FILE_CAP}-byte cap for passing outputs between hosts"
            for i, size in too_large.items()}


def referenced(step: Any) -> set[str]:
    """The output ids a step's config refers to with `{{output.ID.…}}`."""
    config = step.config.model_dump(mode="json") if hasattr(step.config, "model_dump") else {}
    return set(_REF.findall(json.dumps(config)))


def for_step(ws: Any, step: Any, outputs: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The outputs to carry to a step that runs on a host (its agent is placed on one)."""
    from tutti.distributed.repo_sync import is_hosted

    if step.agent is None or step.type in ("workflow", "land") or not is_hosted(ws, ws.config.agent(step.agent)):
        return {}
    wanted = referenced(step)
    return pack(outputs, wanted) if wanted else {}

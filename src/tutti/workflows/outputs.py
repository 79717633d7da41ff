"""Step outputs of one run and the `{{output.ID.path}}` / `{{output.ID.json}}` templates.

An output is a JSON document a step produced (`output_json`, artifacts). It is stored under
`.tutti/state/workflow-outputs/{run_id}/{id}.json`, and later steps refer to it by id. In
command strings every substituted value is shell-quoted, so an output can never inject shell
syntax into a later command.
"""

from __future__ import annotations

import json
import re
import shlex
import threading
from pathlib import Path
from typing import Any

from tutti.errors import TuttiError
from tutti.fsutil import write_json_atomic

_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")
_TEMPLATE = re.compile(r"\{\{\s*output\.([A-Za-z0-9_-]+)\.(path|json)\s*\}\}")


def outputs_dir(state_dir: Path, run_id: str) -> Path:
    return state_dir / "workflow-outputs" / run_id


class Outputs:
    """Thread-safe id -> stored output file registry of one run."""

    def __init__(self, state_dir: Path, run_id: str, files: dict[str, str] | None = None) -> None:
        self.dir = outputs_dir(state_dir, run_id)
        self._files: dict[str, str] = dict(files or {})
        self._lock = threading.Lock()

    def store(self, output_id: str, value: Any) -> str:
        if not _SAFE_ID.fullmatch(output_id):
            # As the original (state::validate_step_id): the id names a file; `../x` must not escape.
            raise TuttiError(f"invalid step_id '{output_id}': only [A-Za-z0-9_-] allowed",
                             hint="rename the step's id (it is also how {{output.<id>...}} refers to it)")
        path = self.dir / f"{output_id}.json"
        write_json_atomic(path, value)
        with self._lock:
            self._files[output_id] = str(path)
        return str(path)

    def register(self, output_id: str, path: str) -> None:
        with self._lock:
            self._files[output_id] = path

    def path(self, output_id: str) -> str | None:
        with self._lock:
            return self._files.get(output_id)

    def value(self, output_id: str) -> Any:
        path = self.path(output_id)
        if path is None:
            raise KeyError(output_id)
        return json.loads(Path(path).read_text(encoding="utf-8"))

    def files(self) -> dict[str, str]:
        with self._lock:
            return dict(self._files)


def render(text: str, outputs: Outputs, *, quote: bool = True) -> str:
    """Substitute output templates. Unknown ids and leftover `{{output.` are errors (§6.3)."""

    def substitute(match: re.Match[str]) -> str:
        output_id, field = match.group(1), match.group(2)
        if outputs.path(output_id) is None:
            raise TuttiError(f"unresolved workflow output template in step text: {match.group(0)} "
                             f"(no earlier step produced output '{output_id}')",
                             hint=f"give the producing step id = \"{output_id}\" and output_json, and make this step depend on it")
        if field == "path":
            value = outputs.path(output_id) or ""
        else:
            try:
                value = json.dumps(outputs.value(output_id), separators=(",", ":"))
            except (OSError, ValueError) as exc:
                raise TuttiError(f"output '{output_id}' cannot be read: {exc}",
                                 hint="rerun the step that produces it") from None
        return shlex.quote(value) if quote else value

    rendered = _TEMPLATE.sub(substitute, text)
    if "{{output." in rendered:
        start = rendered.index("{{output.")
        raise TuttiError(f"unresolved workflow output template in step text: {rendered[start:start + 60]}",
                         hint="templates are {{output.ID.path}} or {{output.ID.json}}")
    return rendered

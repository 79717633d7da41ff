"""Workflow prompt steps executed by the API-direct loop (`tt run --direct`, or agents that
have a `provider` and no CLI runtime). Called by the engine as `run_prompt_step(ctx, step)`.

Same semantics as terminal prompt steps (inventory §6.3), adapted to a loop that ends on its own:
- `{{output.ID.…}}` templates rendered (unquoted: this is prose for a model, not a shell line);
- `inject_files` copied from the workspace into the agent's root;
- `output_json` (relative to the agent's root — the only place its tools can write): a stale
  file is removed first; if the model finishes without writing it, it is asked ONCE more
  (the original's re-ask text); then it must exist and parse as JSON;
- `artifact_glob` + `artifact_name`: the newest file created or changed during the step is
  captured as output `artifact_name` (JSON string + `.raw` copy; `{{output.NAME.path}}` is
  the raw file). Relative globs are relative to the agent's root.
The loop's tokens and cost are added to the workflow run's totals.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti.errors import ConfigError, TuttiError
from tutti.paths import inside

if TYPE_CHECKING:
    from tutti.workflows.plan import ResolvedStep
    from tutti.workflows.steps import StepContext, StepOutcome

REASK = (
    "You returned without writing the required output file at {path}. Do not explain or summarize. "
    "Write that JSON file now, fully overwrite it, then reply with a brief confirmation."
)


def run_prompt_step(ctx: StepContext, step: ResolvedStep) -> StepOutcome:
    from tutti.direct.messages import Message
    from tutti.direct.session import LoopOptions, build_loop
    from tutti.workflows.outputs import render
    from tutti.workflows.steps import StepOutcome

    cfg = step.config
    ws = ctx.workspace
    started = time.monotonic()
    text = render(cfg.text, ctx.outputs, quote=False)
    loop = build_loop(
        ws, step.agent, LoopOptions(run_id=ctx.run_id, step=step.key, own_run=False, cancel=ctx.cancel)
    )
    root = loop.toolbox.root
    try:
        _inject(ws.root, root, cfg.inject_files, step)
        target = _output_target(root, cfg, step)
        if target is not None and target.exists():
            target.unlink()  # a stale file from an earlier run must not count as this step's output
            text += f"\n\nWrite the JSON result to `{target.relative_to(root)}`."
        elif target is not None and str(cfg.output_json) not in text:
            text += f"\n\nWrite the JSON result to `{target.relative_to(root)}`."
        pattern, before = _artifact_snapshot(ws, root, cfg, step)

        messages = [Message.user(text)]
        loop.start(
            text, origin=f"workflow:{ctx.workflow}", extra={"step": step.key, "workflow": ctx.workflow}
        )
        result = loop.run(messages, finalize=False)
        reasked = False
        if (
            target is not None
            and result.status == "completed"
            and not target.exists()
            and not ctx.cancel.is_set()
        ):
            reasked = True
            messages.append(Message.user(REASK.format(path=target.relative_to(root))))
            result = loop.run(messages, finalize=False)
        loop.finish(result)
    finally:
        loop.chain.close()

    outcome = StepOutcome(
        status="success",
        duration=time.monotonic() - started,
        output_tail=result.final_text[-2000:],
        side_effects={"direct": {**result.to_dict(), "root": str(root), "reasked": reasked}},
    )
    return _judge(ctx, cfg, result, target, reasked, pattern, before, outcome)


def _judge(ctx: StepContext, cfg: Any, result: Any, target: Path | None, reasked: bool, pattern: Any,
           before: Any, outcome: StepOutcome) -> StepOutcome:
    """The step's outcome from the loop's result: cancelled, failed, the output_json read back
    (after at most one re-ask), the artifact captured."""
    if ctx.cancel.is_set() or result.stop_reason == "cancelled":
        outcome.status, outcome.message = "cancelled", "cancelled during the API-direct loop"
        return outcome
    if result.status == "failed":
        outcome.status = "failed"
        outcome.message = f"API-direct loop failed: {(result.error or {}).get('message', 'error')}"
        return outcome
    if target is not None:
        if not target.exists():
            outcome.status = "failed"
            outcome.message = (
                f"{cfg.id} retry did not produce output"
                if reasked
                else f"failed reading output_json for step '{cfg.id}': {target} was not written "
                f"(loop stopped: {result.stop_reason})"
            )
            return outcome
        try:
            value = json.loads(target.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            outcome.status = "failed"
            outcome.message = f"failed parsing output_json for step '{cfg.id}': {target}: {exc}"
            return outcome
        outcome.outputs[cfg.id] = ctx.outputs.store(cfg.id, value)
    elif result.status != "completed":
        outcome.status = "failed"
        outcome.message = f"API-direct loop stopped before finishing: {result.stop_reason}"
        return outcome
    if pattern is not None:
        _capture_artifact(ctx, cfg, pattern, before, outcome)
        if outcome.status != "success":
            return outcome
    totals = result.totals
    outcome.message = (
        f"ok: {totals.model_calls} model calls, {totals.tool_calls} tool calls, "
        f"${totals.cost_usd:.4f}" + (" (after re-ask for output_json)" if reasked else "")
    )
    return outcome


def _inject(ws_root: Path, root: Path, files: list[str], step: Any) -> None:
    for rel in files:
        source = ws_root / rel
        if Path(rel).is_absolute() or not inside(ws_root, source):
            raise ConfigError(
                f"step {step.label} → inject_files: inject_files must be workspace-relative: '{rel}'",
                hint="use a path inside the workspace",
            )
        if not source.exists():
            raise TuttiError(
                f"inject_files source does not exist: {source}", hint="create it or fix inject_files"
            )
        if root == ws_root.resolve():
            continue
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True)
        else:
            shutil.copy2(source, dest)


def _output_target(root: Path, cfg: Any, step: Any) -> Path | None:
    if not cfg.output_json:
        return None
    target = root / cfg.output_json
    if Path(cfg.output_json).is_absolute() or not inside(root, target):
        raise ConfigError(
            f"step {step.label} → output_json: '{cfg.output_json}' must stay inside the agent's root {root}",
            hint='use a relative path such as ".tutti/out/plan.json"',
        )
    if not cfg.id:
        raise ConfigError(
            f"step {step.label} → output_json: uses output_json but is missing id", hint='add id = "..."'
        )
    return target.resolve()


def _artifact_snapshot(ws: Any, root: Path, cfg: Any, step: Any) -> tuple[str | None, dict]:
    if not cfg.artifact_glob:
        return None, {}
    from tutti.workflows.artifacts import expand_glob, snapshot

    pattern = expand_glob(cfg.artifact_glob, workspace_root=root, workspace_name=ws.name, agent=step.agent)
    return pattern, snapshot(pattern)


def _capture_artifact(ctx: Any, cfg: Any, pattern: str, before: dict, outcome: Any) -> None:
    from tutti.workflows.artifacts import new_files

    fresh = new_files(pattern, before)
    name = cfg.artifact_name
    if not fresh:
        outcome.status = "failed"
        outcome.message = f"artifact '{name}' was not produced (no new file matches {pattern})"
        return
    newest = fresh[0]
    content = newest.read_text(encoding="utf-8", errors="replace")
    ctx.outputs.store(name, content)
    raw = ctx.outputs.dir / f"{name}.raw"
    raw.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(newest, raw)
    ctx.outputs.register(name, str(raw))
    outcome.outputs[name] = str(raw)
    if len(fresh) > 1:
        outcome.side_effects["artifact_warning"] = (
            f"{len(fresh)} files matched; captured the newest: {newest}"
        )

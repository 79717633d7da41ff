"""`type = "prompt"`: send text to a CLI agent and wait for real completion (inventory §6.3).

Completion needs evidence, never a footer redraw (#65, #67, #122):
* `wait_for_idle = true`: the agent must show activity (classified working, or the prompt was
  consumed and the screen body changed) within max(startup_grace_secs, 20) s, then be idle and
  stable; a timeout is forgiven only when `output_json` was written.
* `artifact_glob` with `wait_for_idle = false` (artifact-polling, for human-in-the-loop skills):
  done when a NEW file matching the glob appears — while the agent may sit at its prompt;
  fails fast when the session exits, cleanly at `wait_timeout_secs`.
* neither: fire-and-forget once the prompt is delivered.

`output_json` (needs `id`): resolved in the agent's working directory; a stale file is deleted
before sending; when the agent returns without writing it, it is asked ONCE more.
`inject_files`: templates rendered, every source and destination kept inside the workspace;
relative entries land at the same relative path in the agent's worktree, absolute ones
(e.g. `{{output.plan.path}}`) under `.tutti-inject/` there (git-excluded, and recorded as
injected so `tt land` never commits them).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti.errors import AgentNotRunning, ConfigError, NotFoundError, TuttiError
from tutti.paths import inside
from tutti.store.db import now_iso
from tutti.workflows.artifacts import (
    ArtifactSessionGone,
    ArtifactTimeout,
    expand_glob,
    new_files,
    snapshot,
    wait_for_file,
)
from tutti.workflows.outputs import render
from tutti.workflows.steps import StepOutcome
from tutti.workflows.steps import agent_session as sessions
from tutti.workflows.steps import delivery as delivery_record

if TYPE_CHECKING:
    from tutti.workflows.plan import ResolvedStep
    from tutti.workflows.steps import StepContext

MIN_ACTIVITY_GRACE = 20
OUTPUT_JSON_WAIT = 15.0
RETRY_WAIT = 120.0
ARTIFACT_POLL = 1.0
INJECT_DIR = ".tutti-inject"
RETRY_TEXT = ("You returned without writing the required output file at {path}. Do not explain or summarize. "
              "Write that JSON file now, fully overwrite it, then reply with a brief confirmation.")


def agent_workdir(ctx: StepContext, agent: str) -> Path:
    ws = ctx.workspace
    cfg = ws.config.agent(agent)
    if cfg is not None and ws.config.uses_worktree(cfg):
        return ws.worktree_path(agent)
    return ws.root


def _output_json_path(ctx: StepContext, step: ResolvedStep) -> Path | None:
    cfg = step.config
    if not cfg.output_json:
        return None
    if not cfg.id:
        raise ConfigError(f"step {step.label} → output_json: uses output_json but is missing id", hint='add id = "..."')
    target = Path(cfg.output_json)
    target = target if target.is_absolute() else agent_workdir(ctx, step.agent) / target
    if not inside(ctx.workspace.root, target):
        raise ConfigError(f"step {step.label} → output_json: '{cfg.output_json}' must stay inside the workspace",
                          hint="use a path relative to the agent's worktree")
    return target


def inject(ctx: StepContext, step: ResolvedStep) -> list[str]:
    """Copy `inject_files` into the agent's workdir; returns destination paths relative to it."""
    root = ctx.workspace.root
    dest_base = agent_workdir(ctx, step.agent)
    copied: list[str] = []
    for entry in step.config.inject_files:
        rendered = render(entry, ctx.outputs, quote=False).strip()
        src = Path(rendered) if Path(rendered).is_absolute() else root / rendered
        if not inside(root, src):
            raise ConfigError(f"step {step.label} → inject_files: '{entry}' resolves outside the workspace ({src})",
                              hint="inject only files inside the workspace")
        if not src.is_file():
            raise NotFoundError(f"inject_files source does not exist: {src}", hint="check the path or the producing step")
        rel = Path(INJECT_DIR) / src.name if Path(rendered).is_absolute() else Path(rendered)
        dest = dest_base / rel
        if not inside(dest_base, dest):
            raise ConfigError(f"step {step.label} → inject_files: '{entry}' would be written outside {dest_base}",
                              hint="use a path inside the workspace")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.resolve() != dest.resolve():
            shutil.copyfile(src, dest)
        copied.append(str(rel))
    if copied:
        _mark_injected(ctx, step.agent, dest_base, copied)
    return copied


def _mark_injected(ctx: StepContext, agent: str, workdir: Path, rels: list[str]) -> None:
    from tutti.gates.review import _exclude_from_git

    if any(r.startswith(INJECT_DIR) for r in rels):
        _exclude_from_git(workdir, INJECT_DIR + "/")
    try:  # tell `tt land` these are Tutti's files, not the agent's work
        from tutti.sessions import worktree

        with worktree._registry(ctx.workspace.state_dir) as data:
            entry = data.get(agent)
            if isinstance(entry, dict):
                entry["injected"] = sorted(set(entry.get("injected", [])) | set(rels))
    except (ImportError, AttributeError):
        pass


def _fresh(path: Path, before: tuple[int, int] | None) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return before is None or (st.st_mtime_ns, st.st_size) != before


def _wait_output_json(ctx: StepContext, path: Path, timeout: float) -> bool:
    def find() -> Path | None:
        if not path.exists():
            return None
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return path

    try:
        wait_for_file(find, timeout=timeout, poll=0.5, cancel=ctx.cancel, what=f"output_json {path}")
        return True
    except TuttiError:
        return False


def _settle(ctx: StepContext, step: ResolvedStep, delivery: sessions.Delivery, timeout: float,
            grace: float) -> dict[str, Any]:
    """Phase 1: activity within `grace` (and maybe completion); phase 2: idle and stable."""
    from tutti.runtimes.settle import wait_for_settle

    b, ad = sessions.backend(), sessions.adapter(ctx, step.agent)
    if delivery.baseline is None:
        # Re-attached to a turn without a marker (the crash fell between paste and the record):
        # idle and stable is all the evidence there is.
        only = wait_for_settle(b, delivery.session, ad, timeout_secs=timeout, idle_stable_secs=sessions.IDLE_STABLE_SECS,
                               require_activity=False, cancel=ctx.cancel)
        if only.completed:
            return {"completion": only.source, "activity": only.activity_seen, "elapsed": only.elapsed_secs}
        raise sessions.settle_error(step.agent, only.outcome, only.detail, "wait_for_idle")
    first = wait_for_settle(b, delivery.session, ad, timeout_secs=min(grace, timeout), idle_stable_secs=sessions.IDLE_STABLE_SECS,
                            startup_grace_secs=timeout + 1, baseline=delivery.baseline, cancel=ctx.cancel)
    if first.completed:
        return {"completion": first.source, "activity": first.activity_seen, "elapsed": first.elapsed_secs}
    if first.outcome != "timeout":
        raise sessions.settle_error(step.agent, first.outcome, first.detail, "wait_for_idle")
    if not first.activity_seen:
        raise TuttiError(f"prompt did not start activity or produce output within {int(min(grace, timeout))}s",
                         hint=f"check `tt peek {step.agent}`: the prompt may not have been submitted")
    remaining = timeout - (time.monotonic() - delivery.sent_at)
    if remaining <= 0:
        raise TuttiError(f"wait_for_idle timed out after {int(timeout)}s")
    second = wait_for_settle(b, delivery.session, ad, timeout_secs=remaining, idle_stable_secs=sessions.IDLE_STABLE_SECS,
                             require_activity=False, cancel=ctx.cancel)
    if second.completed:
        return {"completion": "runtime_signal", "activity": True, "elapsed": time.monotonic() - delivery.sent_at}
    if second.outcome == "timeout":
        raise TuttiError(f"wait_for_idle timed out after {int(timeout)}s", hint=f"raise wait_timeout_secs or check `tt peek {step.agent}`")
    raise sessions.settle_error(step.agent, second.outcome, second.detail, "wait_for_idle")


def _capture_artifact(ctx: StepContext, name: str, files: list[Path], effects: dict[str, Any]) -> str:
    chosen = files[0]
    if len(files) > 1:
        effects.setdefault("warnings", []).append(
            f"{len(files)} new files match the artifact glob; captured the newest: {chosen}")
    text = chosen.read_text(encoding="utf-8", errors="replace")
    ctx.outputs.store(name, text)  # {name}.json: the content as a JSON string
    raw = ctx.outputs.dir / f"{name}.raw"
    raw.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(chosen, raw)
    ctx.outputs.register(name, str(raw))  # {{output.NAME.path}} is the raw copy
    effects["artifact"] = str(chosen)
    return str(raw)


def execute(ctx: StepContext, step: ResolvedStep) -> StepOutcome:
    cfg = step.config
    agent = step.agent
    started_wall = now_iso()
    started = time.monotonic()
    text = render(cfg.text, ctx.outputs, quote=False)
    output_json = _output_json_path(ctx, step)
    timeout = float(cfg.effective_wait_timeout)
    effects: dict[str, Any] = {"agent": agent}

    pattern = None
    if cfg.artifact_glob:
        pattern = expand_glob(cfg.artifact_glob, workspace_root=ctx.workspace.root,
                              workspace_name=ctx.workspace.name, agent=agent)
        effects["artifact_glob"] = pattern
    delivery, before_artifacts = _send_once(ctx, step, text, output_json, pattern, effects)
    outcome = StepOutcome(status="success", side_effects=effects)

    if pattern is not None and not cfg.wait_for_idle:
        _await_artifact(ctx, step, outcome, pattern, before_artifacts, timeout)
    elif cfg.wait_for_idle:
        _await_idle(ctx, step, outcome, delivery, output_json, pattern, before_artifacts, timeout)
    else:
        outcome.message = "prompt delivered (fire-and-forget: wait_for_idle = false)"

    if output_json is not None:
        outcome.outputs[cfg.id] = _collect_output_json(ctx, step, outcome, output_json, timeout)

    _maybe_handoff(ctx, agent, effects)
    effects["window"] = {"started_at": started_wall, "finished_at": now_iso()}
    outcome.duration = time.monotonic() - started
    return outcome


def _artifact_name(step: ResolvedStep) -> str:
    return step.config.artifact_name or step.config.id or "artifact"


def _await_artifact(ctx: StepContext, step: ResolvedStep, outcome: StepOutcome, pattern: str,
                    before_artifacts: Any, timeout: float) -> None:
    """Artifact-polling mode: the file is the completion signal, whatever the screen says."""
    agent, artifact_name = step.agent, _artifact_name(step)

    def find() -> Path | None:
        files = new_files(pattern, before_artifacts)
        return files[0] if files else None

    try:
        wait_for_file(find, timeout=timeout, poll=ARTIFACT_POLL, cancel=ctx.cancel,
                      alive=lambda: sessions.is_running(ctx, agent), what=f"artifact '{artifact_name}'", settle=0.5)
    except ArtifactSessionGone:
        raise TuttiError(f"session exited before artifact '{artifact_name}' was produced",
                         hint=f"see `tt peek {agent}`") from None
    except ArtifactTimeout:
        raise TuttiError(f"artifact '{artifact_name}' not found after {int(timeout)}s of polling",
                         hint="raise wait_timeout_secs, or check the glob and that the agent writes the file") from None
    outcome.outputs[artifact_name] = _capture_artifact(ctx, artifact_name, new_files(pattern, before_artifacts),
                                                       outcome.side_effects)
    outcome.message = f"artifact '{artifact_name}' captured"


def _await_idle(ctx: StepContext, step: ResolvedStep, outcome: StepOutcome, delivery: Any, output_json: Path | None,
                pattern: str | None, before_artifacts: Any, timeout: float) -> None:
    """wait_for_idle mode: the agent settles after activity; then an artifact glob must match."""
    effects = outcome.side_effects
    grace = float(max(step.config.effective_startup_grace, MIN_ACTIVITY_GRACE))
    try:
        effects.update(_settle(ctx, step, delivery, timeout, grace))
        outcome.message = "agent finished (idle and stable after activity)"
    except TuttiError as exc:
        if output_json is not None and _fresh(output_json, None) and "timed out" in exc.message:
            effects["note"] = "output_json detected after wait_for_idle timeout"
        else:
            raise
    if pattern is None:
        return
    artifact_name = _artifact_name(step)
    deadline = time.monotonic() + 5
    files = new_files(pattern, before_artifacts)
    while not files and time.monotonic() < deadline and not ctx.sleep(0.5):
        files = new_files(pattern, before_artifacts)
    if not files:
        raise TuttiError(f"artifact '{artifact_name}' was not produced (glob {pattern})",
                         hint="check that the agent writes the file the glob expects")
    outcome.outputs[artifact_name] = _capture_artifact(ctx, artifact_name, files, effects)


def _collect_output_json(ctx: StepContext, step: ResolvedStep, outcome: StepOutcome, output_json: Path,
                         timeout: float) -> Any:
    """The step's output_json value (asking the agent once more when the file is missing)."""
    cfg = step.config
    if not _wait_output_json(ctx, output_json, OUTPUT_JSON_WAIT if cfg.wait_for_idle else timeout):
        # The one re-ask (§6.3): the agent returned without writing the file. Recorded like
        # the prompt, so a resumed step never asks twice.
        if ctx.intent.get("reask") is None:
            delivery_record.record(ctx, step, "reask", "sending")
            sessions.deliver(ctx, step.agent, RETRY_TEXT.format(path=output_json))
            delivery_record.record(ctx, step, "reask", "delivered")
        outcome.side_effects["output_json_reasked"] = True
        if not _wait_output_json(ctx, output_json, RETRY_WAIT):
            raise TuttiError(f"{cfg.id} retry did not produce output within {int(RETRY_WAIT)}s",
                             hint=f"the agent must write {output_json}")
    try:
        value = json.loads(output_json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TuttiError(f"failed parsing output_json for step '{cfg.id}': {output_json}: {exc}") from None
    return ctx.outputs.store(cfg.id, value)


def plan_intent(ctx: StepContext, step: ResolvedStep, intent: dict[str, Any]) -> dict[str, Any]:
    """A resumed prompt step keeps the crashed attempt's delivery record (never sent twice)."""
    return delivery_record.carry(ctx, intent)


def _send_once(ctx: StepContext, step: ResolvedStep, text: str, output_json: Path | None, pattern: str | None,
               effects: dict[str, Any]) -> tuple[sessions.Delivery, dict]:
    """Deliver the prompt — or, on resume, re-attach to the turn a delivered prompt started.
    Returns the delivery (its baseline is the turn marker) and the artifact snapshot before it."""
    agent = step.agent
    prior = ctx.intent.get("delivery")
    if prior is not None:
        running = sessions.is_running(ctx, agent)
        screen = sessions.backend().capture(ctx.workspace.session_name(agent)) if running else None
        decision = delivery_record.resolve(ctx, agent, prior, screen, running)
        before = _thaw(prior.get("artifacts"))
        if decision.action != "send":
            if not running:
                raise AgentNotRunning(f"the prompt was delivered to '{agent}' before the crash, but its session "
                                      "has exited; it is not sent again",
                                      hint=f"start a new run to send it again: tt run {ctx.workflow}")
            if decision.action == "submit":
                sessions.submit(ctx, agent, decision.baseline or "", chars=len(text), text=text)
            delivery_record.record(ctx, step, "delivery", "delivered", baseline=decision.baseline,
                                   artifacts=prior.get("artifacts"))
            effects["reattached"] = decision.action
            return sessions.Delivery(ctx.workspace.session_name(agent), decision.baseline, time.monotonic()), before
    effects["started_session"] = sessions.ensure_agent(ctx, agent)
    injected = inject(ctx, step)
    if injected:
        effects["injected"] = injected
    if output_json is not None:
        output_json.unlink(missing_ok=True)  # a stale file must never short-circuit the wait
    before = snapshot(pattern) if pattern is not None else {}
    frozen = {name: [st.mtime_ns, st.size] for name, st in before.items()}
    delivery = sessions.deliver(
        ctx, agent, text,
        on_paste=lambda screen: delivery_record.record(ctx, step, "delivery", "sending", before=screen,
                                                       artifacts=frozen),
        on_pasted=lambda baseline: delivery_record.record(ctx, step, "delivery", "pasted", baseline=baseline,
                                                          artifacts=frozen))
    delivery_record.record(ctx, step, "delivery", "delivered", baseline=delivery.baseline, artifacts=frozen)
    return delivery, before


def _thaw(frozen: dict | None) -> dict:
    from tutti.workflows.artifacts import FileStamp

    return {name: FileStamp(*stamp) for name, stamp in (frozen or {}).items()}


def _maybe_handoff(ctx: StepContext, agent: str, effects: dict[str, Any]) -> None:
    """Context health: after the agent settles, auto-handoff when `[handoff] auto` says so."""
    if not ctx.workspace.config.handoff.auto:
        return
    try:
        from tutti.gates.handoff import context_used_pct, maybe_auto_handoff

        screen = sessions.backend().capture(ctx.workspace.session_name(agent))
        packet = maybe_auto_handoff(ctx.workspace, agent, context_used_pct(ctx.workspace, agent, screen))
        if packet is not None:
            effects["handoff"] = packet.packet
    except TuttiError:
        pass


def resume_note(step: ResolvedStep) -> str | None:
    """For `tt run --resume`'s preview (crash safety, #13)."""
    return "a prompt delivered before the crash is re-attached to (never sent again); an undelivered one is sent once"

"""State-changing actions: `POST /v1/actions/{action}` (inventory §4.4) over the `tutti.ops` use-cases.

Each action has a pydantic body model (so `/openapi.json` documents it), validates the agent /
workflow it names against the workspace config (unknown → 404), runs under the idempotency
protocol when a key is given, and records one `api.action` event — the audit trail `/v1/ops`
lists. Long work (`run`) returns a `run_id` at once; progress flows through events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from tutti.errors import NotFoundError, TuttiError
from tutti.serve import idempotency
from tutti.serve.context import ServeContext, check_id
from tutti.serve.envelope import envelope, plain
from tutti.serve.operations import operation
from tutti.serve.reads import act

router = APIRouter(prefix="/v1/actions", tags=["actions"])


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workspace: str | None = Field(None, description="required when the server serves several workspaces")
    idempotency_key: str | None = Field(None, description="same as the Idempotency-Key header")


class UpBody(ActionBody):
    agent: str | None = None
    fresh_worktree: bool = False


class DownBody(ActionBody):
    agent: str | None = None
    clean: bool = False


class SendBody(ActionBody):
    agent: str
    prompt: str
    auto_up: bool = False
    wait: bool = False
    timeout_secs: int = Field(900, ge=1, le=86400)
    idle_stable_secs: int = Field(5, ge=0, le=3600)
    output: bool = False
    output_lines: int = Field(200, ge=1, le=10000)


class RunBody(ActionBody):
    workflow: str
    agent: str | None = None
    strict: bool = False
    dry_run: bool = False


class VerifyBody(ActionBody):
    workflow: str | None = None
    agent: str | None = None
    strict: bool = False


class ReviewBody(ActionBody):
    agent: str
    reviewer: str = "reviewer"


class LandBody(ActionBody):
    agent: str
    pr: bool = False
    force: bool = False


class CancelBody(ActionBody):
    run_id: str


class ApproveBody(ActionBody):
    run_id: str | None = Field(None, description="optional: an approval id is unique (`tt approvals list`)")
    approval_id: str
    approve: bool


class LoopBody(ActionBody):
    lanes: int | None = Field(None, ge=1, le=64, description="default: [loop] lanes")
    once: bool = False
    stop: bool = False


class MessageBody(ActionBody):
    to: str = Field(description="the recipient agent")
    text: str = Field(max_length=8000)
    sender: str = Field("user", description="an agent name, or 'user'")
    reply_to: int | None = Field(None, description="the message id this answers (reply depth is capped)")


class UploadBody(ActionBody):
    agent: str
    filename: str | None = Field(None, max_length=255, description="shown in the event only; never a path")
    data_base64: str = Field(max_length=7_000_000, description="the image bytes (PNG, JPEG, GIF, WebP; <= 5 MiB)")


IdemHeader = Header(None, alias="Idempotency-Key")


def execute(request: Request, action: str, body: ActionBody, header_key: str | None,
            work: Callable[[Any], Any]) -> JSONResponse:
    """Run one action in its workspace under the idempotency protocol; record it as `api.action`."""
    ctx: ServeContext = request.app.state.ctx
    ws = ctx.workspace(body.workspace)
    key = idempotency.key_from(header_key, body.idempotency_key)
    if key:
        stored = idempotency.claim(ws.store, key, action, fingerprint=idempotency.fingerprint(
            body.model_dump(mode="json", exclude={"idempotency_key"})))
        if stored is not None:
            return JSONResponse(stored.body, status_code=stored.status, headers={"Idempotent-Replayed": "true"})
    audit = {"action": action, "idempotency_key": key, "origin": "api"}
    try:
        data = plain(work(ws))
    except BaseException as exc:
        if key:
            idempotency.release(ws.store, key)
        message = exc.message if isinstance(exc, TuttiError) else type(exc).__name__
        ws.store.append_event("api.action", agent=getattr(body, "agent", None),
                              data={**audit, "ok": False, "error": message})
        raise
    result = envelope(action, data=data)
    with ws.store.transaction() as conn:
        ws.store.append_event("api.action", agent=getattr(body, "agent", None),
                              run_id=data.get("run_id") if isinstance(data, dict) else None,
                              data={**audit, "ok": True}, conn=conn)
        if key:
            idempotency.complete(conn, key, 200, result)
    return JSONResponse(result)


def _agent(ws, name: str | None) -> str | None:
    if name is not None and ws.config.agent(name) is None:
        raise NotFoundError(f"agent '{name}' not found in workspace '{ws.name}'",
                            hint=f"agents: {', '.join(a.name for a in ws.config.agents) or 'none'}")
    return name


def _workflow(ws, name: str) -> str:
    if ws.config.workflow(name) is None:
        raise NotFoundError(f"workflow '{name}' not found in workspace '{ws.name}'",
                            hint=f"workflows: {', '.join(w.name for w in ws.config.workflows) or 'none'}")
    return name


@router.post("/up", dependencies=[act("up", "action")])
def up(request: Request, body: UpBody | None = None, idempotency_key: str | None = IdemHeader):
    body = body or UpBody()

    def work(ws):
        agent = _agent(ws, body.agent)
        result = operation("agents", "up")(ws, agent, fresh_worktree=body.fresh_worktree)
        return {"workspace": ws.name, "agent": body.agent, "fresh_worktree": body.fresh_worktree, "result": result}

    return execute(request, "up", body, idempotency_key, work)


@router.post("/down", dependencies=[act("down", "action")])
def down(request: Request, body: DownBody | None = None, idempotency_key: str | None = IdemHeader):
    body = body or DownBody()

    def work(ws):
        agent = _agent(ws, body.agent)
        result = operation("agents", "down")(ws, agent, clean=body.clean)
        return {"workspace": ws.name, "agent": body.agent, "clean": body.clean, "result": result}

    return execute(request, "down", body, idempotency_key, work)


@router.post("/send", dependencies=[act("send", "action")])
def send(request: Request, body: SendBody, idempotency_key: str | None = IdemHeader):
    def work(ws):
        from tutti.distributed.remote import call, hosted

        agent = _agent(ws, body.agent)
        args = dict(auto_up=body.auto_up, wait=body.wait, timeout_secs=body.timeout_secs,
                    idle_stable_secs=body.idle_stable_secs, output=body.output, output_lines=body.output_lines)
        if host := hosted(ws, agent):  # placed on another host: that host's worker delivers it
            result = call(ws, host, "send", {"agent": agent, "prompt": body.prompt, **args},
                          timeout_secs=body.timeout_secs + 60)
        else:
            result = operation("send", "send")(ws, agent, body.prompt, **args)
        return {"workspace": ws.name, "agent": body.agent, "send": result}

    return execute(request, "send", body, idempotency_key, work)


@router.post("/run", dependencies=[act("run", "action")])
def run(request: Request, body: RunBody, idempotency_key: str | None = IdemHeader):
    def work(ws):
        name, agent = _workflow(ws, body.workflow), _agent(ws, body.agent)
        data = {"workspace": ws.name, "workflow": name, "agent": agent, "strict": body.strict,
                "dry_run": body.dry_run, "run_id": None}
        if body.dry_run:
            data["plan"] = operation("run", "dry_run")(ws, name, agent=agent, strict=body.strict)
        else:
            data["run_id"] = operation("run", "start_run")(ws, name, strict=body.strict, agent=agent, origin="api")
        return data

    return execute(request, "run", body, idempotency_key, work)


@router.post("/verify", dependencies=[act("verify", "action")])
def verify(request: Request, body: VerifyBody | None = None, idempotency_key: str | None = IdemHeader):
    body = body or VerifyBody()

    def work(ws):
        workflow = _workflow(ws, body.workflow or "verify")
        run_id = _in_background(operation("run", "verify"), ws, workflow=workflow,
                                agent=_agent(ws, body.agent), strict=body.strict)
        return {"workspace": ws.name, "workflow": workflow, "agent": body.agent, "strict": body.strict,
                "run_id": run_id}

    return execute(request, "verify", body, idempotency_key, work)


def _in_background(fn: Callable[..., Any], ws, *, startup_timeout: float = 60.0, **kwargs: Any) -> str | None:
    """Run a blocking workflow use-case in a thread; return its run_id as soon as it starts.
    (Long work is a job, not a request: progress flows through events, the result is at /v1/runs/{id}.)"""
    started, box = threading.Event(), {}

    def on_event(kind: str, data: dict[str, Any]) -> None:
        if kind == "workflow.started" and "run_id" not in box:
            box["run_id"] = data.get("run_id")
            started.set()

    def runner() -> None:
        try:
            fn(ws, on_event=on_event, **kwargs)
        except Exception as exc:  # noqa: BLE001 — handed to the request if the run never started
            box.setdefault("error", exc)
        finally:
            started.set()

    threading.Thread(target=runner, name="tutti-api-job", daemon=True).start()
    started.wait(startup_timeout)
    if "run_id" not in box and "error" in box:
        raise box["error"]
    return box.get("run_id")


@router.post("/review", dependencies=[act("review", "action")])
def review(request: Request, body: ReviewBody, idempotency_key: str | None = IdemHeader):
    def work(ws):
        agent = _agent(ws, body.agent)
        result = operation("review", "review")(ws, agent, body.reviewer)
        return {"workspace": ws.name, "agent": body.agent, "reviewer": body.reviewer, "result": result}

    return execute(request, "review", body, idempotency_key, work)


@router.post("/land", dependencies=[act("land", "action")])
def land(request: Request, body: LandBody, idempotency_key: str | None = IdemHeader):
    def work(ws):
        agent = _agent(ws, body.agent)
        result = operation("land", "land")(ws, agent, force=body.force, pr=body.pr)
        return {"workspace": ws.name, "agent": body.agent, "pr": body.pr, "force": body.force, "result": result}

    return execute(request, "land", body, idempotency_key, work)


@router.post("/cancel", dependencies=[act("cancel", "action")])
def cancel(request: Request, body: CancelBody, idempotency_key: str | None = IdemHeader):
    def work(ws):
        run_id = check_id("run_id", body.run_id)
        if not ws.store.query("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)):
            raise NotFoundError(f"run '{run_id}' not found", hint="list runs with GET /v1/runs")
        result = operation("run", "cancel_run")(ws, run_id)
        return {"workspace": ws.name, "run_id": run_id, "result": result}

    return execute(request, "cancel", body, idempotency_key, work)


@router.post("/approve", dependencies=[act("approve", "action")])
def approve(request: Request, body: ApproveBody, idempotency_key: str | None = IdemHeader):
    def work(ws):
        if body.run_id is None:  # loop merges and tool calls alike, by approval id
            result = operation("approvals", "decide")(ws, body.approval_id, body.approve, by="api")
            return {"workspace": ws.name, "run_id": result.run_id, "approval_id": body.approval_id,
                    "approve": body.approve, "result": result}
        run_id = check_id("run_id", body.run_id)
        result = operation("direct", "decide_approval")(ws, run_id, body.approval_id, body.approve)
        return {"workspace": ws.name, "run_id": run_id, "approval_id": body.approval_id,
                "approve": body.approve, "result": result}

    return execute(request, "approve", body, idempotency_key, work)


@router.post("/loop", dependencies=[act("loop", "action")])
def loop(request: Request, body: LoopBody | None = None, idempotency_key: str | None = IdemHeader):
    """Start the workspace's SDLC loop in the server (a job: progress flows as `loop.*` events),
    or stop it with `stop = true`."""
    body = body or LoopBody()

    def work(ws):
        if body.stop:
            return {"workspace": ws.name, **operation("loop", "stop_loop")(ws)}
        return {"workspace": ws.name, **operation("loop", "start_loop")(ws, lanes=body.lanes, once=body.once)}

    return execute(request, "loop", body, idempotency_key, work)


@router.post("/message", dependencies=[act("message", "action")])
def message(request: Request, body: MessageBody, idempotency_key: str | None = IdemHeader):
    """Post to an agent's inbox (ops.messages); the supervisor delivers it when the agent is idle."""
    def work(ws):
        posted = operation("messages", "post")(ws, _agent(ws, body.to), body.text, sender=body.sender,
                                               reply_to=body.reply_to)
        return {"workspace": ws.name, "message": posted.to_dict()}

    return execute(request, "message", body, idempotency_key, work)


@router.post("/upload", dependencies=[act("upload", "action")])
def upload(request: Request, body: UploadBody, idempotency_key: str | None = IdemHeader):
    """An image into the agent's worktree (`.tutti-inject/uploads/`); returns the reference for the next prompt."""
    def work(ws):
        import base64
        import binascii

        from tutti.errors import UsageError

        try:
            data = base64.b64decode(body.data_base64, validate=True)
        except (binascii.Error, ValueError):
            raise UsageError("data_base64 is not valid base64", hint="send the file's bytes base64-encoded") from None
        saved = operation("uploads", "save_image")(ws, _agent(ws, body.agent), data, filename=body.filename)
        return {"workspace": ws.name, "upload": saved.to_dict()}

    return execute(request, "upload", body, idempotency_key, work)


@router.post("/{action}", dependencies=[act("action", "action")], include_in_schema=False)
def unknown(action: str):
    from tutti.errors import UsageError

    # From the routes themselves, so an action added above is never missing from the hint.
    known = [r.path.rsplit("/", 1)[-1] for r in router.routes if not r.path.endswith("/{action}")]
    raise UsageError(f"unknown action '{action}'", hint="actions: " + ", ".join(dict.fromkeys(known)))

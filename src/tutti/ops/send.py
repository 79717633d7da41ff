"""`tt send`: deliver a prompt to a running agent, optionally wait for it to finish (§1, §5.6).

The delivery itself is `tutti.delivery.send` (shared with workflow steps); this use-case adds
`auto_up`: a stopped agent is started the `tt up` way (`ops.agents.up`) first.
"""

from __future__ import annotations

from tutti.delivery.send import (  # noqa: F401 - re-exported: the names callers use
    DELIVERY_TIMEOUT_SECS,
    READY_STABLE_SECS,
    READY_TIMEOUT_SECS,
    SendResult,
    _fail,
)
from tutti.delivery.send import send as _deliver_prompt
from tutti.sessions.backend import SessionBackend
from tutti.workspace import Workspace


def _start_agent(ws: Workspace, agent: str, backend: SessionBackend) -> None:
    from tutti.ops.agents import up

    up(ws, agent, backend=backend)


def send(ws: Workspace, agent: str, prompt: str, *, auto_up: bool = False, wait: bool = False,
         timeout_secs: float = 900, idle_stable_secs: float = 5, output: bool = False, output_lines: int = 200,
         answer: bool = False, startup_grace_secs: float = 10.0, backend: SessionBackend | None = None) -> SendResult:
    return _deliver_prompt(ws, agent, prompt, auto_up=auto_up, wait=wait, timeout_secs=timeout_secs,
                           idle_stable_secs=idle_stable_secs, output=output, output_lines=output_lines, answer=answer,
                           startup_grace_secs=startup_grace_secs, backend=backend, start_agent=_start_agent)

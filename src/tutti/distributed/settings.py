"""Where things run and how to reach Temporal — decided from config, without importing the SDK."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tutti.errors import TuttiError

if TYPE_CHECKING:
    from tutti.config.models import TuttiConfig
    from tutti.workflows.plan import ResolvedStep

WORKFLOW_NAME = "TuttiRun"
INSTALL_HINT = "pip install 'tutti[temporal]' (temporalio + the temporal CLI), or set [engine] kind = \"local\""


class EngineUnavailable(TuttiError):
    category = "engine"


def control_queue(config: TuttiConfig) -> str:
    return f"{config.engine.task_queue_prefix}.control"


def host_queue(config: TuttiConfig, host: str) -> str:
    return f"{config.engine.task_queue_prefix}.host.{host}"


def step_host(config: TuttiConfig, step: ResolvedStep) -> str | None:
    """The host a step runs on: its agent's, when the step drives the agent or names it (a command
    step with `agent` runs in that host's checkout or the agent's worktree there). Nested
    workflow steps, `land` steps (they land on the control's checkout, after fetching the agent's
    branch from the remote: `repo_sync`) and agent-less steps run on the control queue."""
    if step.agent is None or step.type in ("workflow", "land"):
        return None
    agent = config.agent(step.agent)
    return agent.host if agent is not None else None


def step_queue(config: TuttiConfig, step: ResolvedStep) -> str:
    host = step_host(config, step)
    return host_queue(config, host) if host else control_queue(config)


def require_sdk() -> None:
    """One clear line when kind = temporal but the SDK is not installed."""
    import importlib.util

    if importlib.util.find_spec("temporalio") is None:
        raise EngineUnavailable("[engine] kind = \"temporal\" needs the Temporal SDK (temporalio), which is not installed",
                                hint=INSTALL_HINT)


@dataclass(frozen=True)
class Connection:
    address: str
    namespace: str
    tls: bool
    cert_path: str | None = None
    key_path: str | None = None
    api_key: str | None = None

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `temporalio.client.Client.connect` (TLS objects built there)."""
        return {"target_host": self.address, "namespace": self.namespace}


def connection(config: TuttiConfig) -> Connection:
    """Resolve the `*_env` names to values now, with a clear error naming the missing variable."""
    eng = config.engine

    def env(key: str, name: str | None) -> str | None:
        if name is None:
            return None
        value = os.environ.get(name)
        if not value:
            raise EngineUnavailable(f"[engine] {key} names ${name}, which is not set",
                                    hint=f"export {name}=... before running tt, or remove {key} from [engine]")
        return value

    cert, key, api_key = env("tls_cert_env", eng.tls_cert_env), env("tls_key_env", eng.tls_key_env), \
        env("api_key_env", eng.api_key_env)
    return Connection(eng.address.strip(), eng.namespace, bool(eng.tls or cert or api_key), cert, key, api_key)

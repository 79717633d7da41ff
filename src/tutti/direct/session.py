"""Wire one API-direct agent of a workspace into an `AgentLoop`: its root (worktree or
workspace), provider chain, tools, policy, approvals, pricing and recorder."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tutti.direct.events import RunRecorder
from tutti.direct.loop import AgentLoop
from tutti.direct.messages import StreamDelta
from tutti.direct.policy import Approver, Policy, PolicyGate
from tutti.direct.pricing import PriceTable
from tutti.direct.profiles import provider_settings
from tutti.direct.providers import build_provider
from tutti.direct.providers.base import ProviderSettings
from tutti.direct.providers.chain import ProviderChain
from tutti.direct.tools import ToolBox
from tutti.errors import NotFoundError

if TYPE_CHECKING:
    from tutti.config.models import Agent, GlobalConfig
    from tutti.workspace import Workspace


def find_agent(ws: Workspace, name: str) -> Agent:
    agent = ws.config.agent(name)
    if agent is None:
        known = ", ".join(a.name for a in ws.config.agents) or "none"
        raise NotFoundError(
            f"agent '{name}' not found in {ws.config_path} (agents: {known})",
            hint='declare it with [[agent]] name = "…"',
        )
    return agent


def agent_root(ws: Workspace, agent: Agent) -> Path:
    """Where the agent's tools operate: its git worktree (created if needed) or the workspace."""
    if ws.config.uses_worktree(agent):
        from tutti.sessions.worktree import prepare

        return prepare(
            # Never `fresh` here: a direct agent has no launch, and recreating the worktree on
            # every send or step would throw away the previous step's work.
            ws.root,
            ws.state_dir,
            agent.name,
            agent.branch_name(),
            fresh=False,
        ).workdir
    return ws.root


@dataclass
class LoopOptions:
    run_id: str
    step: str | None = None
    own_run: bool = True
    approver: Approver | None = None
    cancel: threading.Event | None = None
    on_delta: Callable[[StreamDelta], None] | None = None
    on_tool: Callable[..., None] | None = None
    global_config: GlobalConfig | None = None
    settings: list[ProviderSettings] | None = None  # explicit chain (tests, benchmarks)
    max_turns: int | None = None


def build_loop(ws: Workspace, agent_name: str, opts: LoopOptions) -> AgentLoop:
    agent = find_agent(ws, agent_name)
    if not (agent.provider or agent.model or opts.settings):
        from tutti.errors import UsageError

        raise UsageError(
            f"agent '{agent.name}' is not an API-direct agent (no provider or model in {ws.config_path})",
            hint=f'add provider = "<profile or kind>" and model = "…" to [[agent]] {agent.name}, '
            "or send without --direct",
        )
    defaults = ws.config.direct
    settings = opts.settings or provider_settings(ws, agent, opts.global_config)
    cancel = opts.cancel or threading.Event()
    policy = Policy.for_agent(agent, defaults)
    _check_tool_names(ws, agent.name, "allowed_tools", policy.allowed_tools)
    if isinstance(policy.requires_approval, list):
        _check_tool_names(ws, agent.name, "requires_approval", policy.requires_approval)
    approver = opts.approver
    if approver is None and policy.requires_approval:
        from tutti.direct.approvals import StoreApprover

        approver = StoreApprover(ws.store, timeout_secs=defaults.approval_timeout_secs, cancel=cancel)
    root = agent_root(ws, agent)
    hidden = {s.api_key_env for s in settings if s.api_key_env}
    toolbox = ToolBox(root, shell_timeout_secs=defaults.shell_timeout_secs, hidden_env=hidden, cancel=cancel)
    recorder = RunRecorder(
        ws.store,
        opts.run_id,
        agent=agent.name,
        step=opts.step,
        own_run=opts.own_run,
        secrets=[s.api_key for s in settings if s.api_key],
    )
    chain = ProviderChain([build_provider(s) for s in settings])
    return AgentLoop(
        chain=chain,
        toolbox=toolbox,
        gate=PolicyGate(
            policy, run_id=opts.run_id, agent=agent.name, approver=approver, path_guard=toolbox.escape_reason
        ),
        recorder=recorder,
        pricing=PriceTable(ws.config.pricing),
        max_turns=opts.max_turns or agent.max_turns or defaults.max_turns,
        cancel=cancel,
        on_delta=opts.on_delta,
        on_tool=opts.on_tool,
        allowed_tools=policy.allowed_tools_offered(),
    )


def _check_tool_names(ws: Workspace, agent: str, key: str, names: list[str] | None) -> None:
    """A misspelt tool name would silently disable a tool (or an approval): refuse it."""
    import difflib

    from tutti.direct.tools import TOOL_NAMES
    from tutti.errors import ConfigError

    for name in names or ():
        if name not in TOOL_NAMES:
            close = difflib.get_close_matches(name, TOOL_NAMES, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(
                f"{ws.config_path}: agent '{agent}' → {key}: unknown tool '{name}'",
                hint=hint + f"tools: {', '.join(TOOL_NAMES)}",
            )

"""One error tree for everything Tutti reports to a user.

Every error carries a category (stable, machine-readable), a one-line message that says what
failed and where, and a hint that says how to fix it. Only the CLI and the HTTP API render
these; core code raises them and never prints.
"""

from __future__ import annotations


class TuttiError(Exception):
    """Base of every error a user may see. Rendered as `error[category]: message` + hint."""

    category = "unknown"
    exit_code = 1
    http_status = 400

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code or self.category

    def to_dict(self) -> dict:
        return {"category": self.category, "code": self.code, "message": self.message, "hint": self.hint}


class ConfigError(TuttiError):
    """tutti.toml, the global config or a template is missing, unparsable or invalid."""

    category = "config"
    exit_code = 2


class UsageError(TuttiError):
    """The command line or API request itself is malformed (wrong flags, missing fields)."""

    category = "usage"
    exit_code = 2


class NotFoundError(TuttiError):
    """A named thing (agent, workflow, run, packet) does not exist."""

    category = "not_found"
    http_status = 404


class RoutingError(TuttiError):
    """git or worktree operations failed."""

    category = "routing"


class SessionError(TuttiError):
    """tmux, a runtime binary, or an agent session is missing or misbehaving."""

    category = "runtime"


class ForeignSession(SessionError):
    """The agent's tmux session exists but was launched by another folder with the same
    `[workspace] name` (same session names): Tutti refuses to act on it."""

    def __init__(self, session: str, owner: str, mine: str) -> None:
        super().__init__(f"tmux session '{session}' belongs to the workspace at {owner}, not to this one ({mine}): "
                         "both folders use the same [workspace] name",
                         hint=f"rename [workspace] name in one of them ({mine}/tutti.toml or {owner}/tutti.toml)")
        self.owner = owner


class AgentNotRunning(SessionError):
    """The agent has no live session."""

    code_name = "agent_not_running"


class ToolError(TuttiError):
    """State files, usage data or JSON handling failed."""

    category = "tool"


class PolicyError(TuttiError):
    """A permission policy, launch policy or issue claim refused the action."""

    category = "policy"


class BudgetError(TuttiError):
    """A token or cost budget blocks the action."""

    category = "budget"


class GateError(TuttiError):
    """A merge gate or review verdict blocks landing."""

    category = "gate"


class ProviderError(TuttiError):
    """A model provider failed (auth, rate limit, outage) after retries."""

    category = "provider"


class StoreError(TuttiError):
    """The workspace SQLite store could not be read or written."""

    category = "store"


class WorkflowFailed(TuttiError):
    """A workflow ran and at least one closed step failed."""

    category = "workflow"


class ForgeError(TuttiError):
    """A forge or tracker API (GitHub, Linear, Jira) refused or failed a request after retries."""

    category = "forge"

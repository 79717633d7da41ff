"""Typed models of `tutti.toml` (inventory §2.1–2.2) and the global config (§2.4).

These are the shared vocabulary of the whole code base. Models accept unknown keys
(`extra="allow"`) so a newer or older tutti.toml still loads; `config.validate` reports them
as warnings with a did-you-mean. Cross-field rules (unknown agents, cycles, …) live in
`config.validate`, not here, so each error can carry the exact key path and message.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from tutti.config.view import AgentMethods, TuttiConfigMethods

FailMode = Literal["open", "closed"]
LaunchMode = Literal["safe", "auto", "unattended"]
LaunchPolicy = Literal["constrained", "bypass"]

# `fake` is the shipped rehearsal agent (tutti.testing.fake_agent): no tokens spent.
BUILTIN_RUNTIMES = ("claude-code", "codex", "aider", "gemini-cli", "openclaw", "fake")


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# -- workspace --------------------------------------------------------------------------------
class WorkspaceEnv(Model):
    """`[workspace.env]`: git identity plus any other key exported into every agent session."""

    git_name: str | None = None
    git_email: str | None = None

    def variables(self) -> dict[str, str]:
        """The environment this table asks for (extra keys are the user's own variables)."""
        env: dict[str, str] = {}
        if self.git_name:
            env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = self.git_name
        if self.git_email:
            env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = self.git_email
        for key, value in (self.model_extra or {}).items():
            env[key] = str(value)
        return env


class WorkspaceAuth(Model):
    default_profile: str | None = None


class WorkspaceSection(Model):
    name: str
    description: str | None = None
    env: WorkspaceEnv = Field(default_factory=WorkspaceEnv)
    auth: WorkspaceAuth = Field(default_factory=WorkspaceAuth)


class Defaults(Model):
    worktree: bool = True
    runtime: str | None = None


class Launch(Model):
    mode: LaunchMode = "auto"
    policy: LaunchPolicy = "constrained"


class Budget(Model):
    mode: Literal["warn", "enforce"] = "warn"
    warn_threshold_pct: float = 80.0
    workspace_weekly_tokens: int | None = None
    agent_weekly_tokens: dict[str, int] = Field(default_factory=dict)


# -- agents and runtimes ------------------------------------------------------------------------
class Agent(AgentMethods, Model):
    name: str
    runtime: str | None = None
    role: str | None = None
    scope: str | None = None
    prompt: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    worktree: bool | None = None
    fresh_worktree: bool = False
    branch: str | None = None
    persistent: bool = False
    memory: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    # Tutti additions
    provider: str | None = None  # API-direct agents: a provider profile / kind instead of a CLI runtime
    model: str | None = None
    working_timeout_secs: float | None = None  # flag an agent "working" this long as stuck
    share_home: bool = False  # run the runtime with the user's own HOME/logins
    # API-direct policy and endpoint (override `[direct]`); see tutti.direct.policy
    allowed_tools: list[str] | None = None
    network_boundary: Literal["open", "air-gapped"] | None = None
    budget_usd: float | None = None
    requires_approval: list[str] | bool | None = None
    max_turns: int | None = None
    base_url: str | None = None  # OpenAI-compatible / Anthropic endpoint when `provider` is a kind
    api_key_env: str | None = None  # the *name* of the env var holding the key, never the key
    host: str | None = None  # [engine] kind = "temporal": the `tt host` this agent and its worktree live on
    host_labels: list[str] | None = None  # or: any `tt host --label L` having all these labels (sticky placement)
    # branch_name(): AgentMethods (shared with the cached view that read-only commands use)


class CustomRuntime(Model):
    """`[[runtime]]`: a CLI agent declared in tutti.toml, no Python needed."""

    name: str
    command: str
    args: list[str] = Field(default_factory=list)
    prompt: Literal["positional", "flag", "none"] = "positional"
    prompt_flag: str | None = None
    working: list[str] = Field(default_factory=list)
    idle: list[str] = Field(default_factory=list)
    waiting: list[str] = Field(default_factory=list)
    auth_failed: list[str] = Field(default_factory=list)
    rate_limited: list[str] = Field(default_factory=list)
    provider_down: list[str] = Field(default_factory=list)
    submit_delay_ms: int = 0


class ToolPack(Model):
    name: str
    description: str | None = None
    required_commands: list[str] = Field(default_factory=list)
    required_env: list[str] = Field(default_factory=list)


# -- workflow steps -----------------------------------------------------------------------------
class StepBase(Model):
    id: str | None = None
    depends_on: list[int] | None = None


class PromptStep(StepBase):
    type: Literal["prompt"]
    agent: str
    text: str
    inject_files: list[str] = Field(default_factory=list)
    output_json: str | None = None
    wait_for_idle: bool = False
    wait_timeout_secs: int | None = None
    startup_grace_secs: int | None = None
    artifact_glob: str | None = None
    artifact_name: str | None = None

    @property
    def effective_wait_timeout(self) -> int:
        return self.wait_timeout_secs if self.wait_timeout_secs is not None else 900

    @property
    def effective_startup_grace(self) -> int:
        return self.startup_grace_secs if self.startup_grace_secs is not None else 30


class CommandStep(StepBase):
    type: Literal["command"]
    run: str
    cwd: Literal["workspace", "agent_worktree"] = "workspace"
    subdir: str | None = None
    agent: str | None = None
    timeout_secs: int = 900
    fail_mode: FailMode = "open"
    output_json: str | None = None
    # true: safe to run twice — no step supervisor; after a crash the step simply runs again
    idempotent: bool = False


class EnsureRunningStep(StepBase):
    type: Literal["ensure_running"]
    agent: str
    fail_mode: FailMode = "closed"


class WorkflowStep(StepBase):
    type: Literal["workflow"]
    workflow: str
    agent: str | None = None
    strict: bool | None = None
    fail_mode: FailMode = "closed"


class ReviewStep(StepBase):
    type: Literal["review"]
    agent: str
    reviewer: str = "reviewer"
    fail_mode: FailMode = "closed"
    wait_timeout_secs: int | None = None  # how long to wait for the reviewer's verdict (default 1800)


class LandStep(StepBase):
    type: Literal["land"]
    agent: str
    pr: bool = False
    force: bool = False
    fail_mode: FailMode = "closed"


Step = Annotated[
    PromptStep | CommandStep | EnsureRunningStep | WorkflowStep | ReviewStep | LandStep,
    Field(discriminator="type"),
]
STEP_TYPES = ("prompt", "command", "ensure_running", "workflow", "review", "land")


class Workflow(Model):
    name: str
    description: str | None = None
    schedule: str | None = None
    timezone: str | None = None  # IANA name for `schedule`; default: the machine's local zone
    steps: list[Step] = Field(default_factory=list, alias="step")


# -- hooks, handoff, observe, webhooks, gate ----------------------------------------------------
class Hook(Model):
    event: Literal["agent_stop", "workflow_complete"]
    agent: str | None = None
    workflow_source: Literal["run", "verify", "hook_agent_stop", "observe_cycle", "hook_workflow_complete", "api", "webhook", "gate"] | None = None
    workflow_name: str | None = None
    workflow: str | None = None
    run: str | None = None
    timeout_secs: int = 900
    fail_mode: FailMode = "open"


class Handoff(Model):
    auto: bool = False
    threshold: float = 0.2
    include: list[str] = Field(default_factory=list)


class Observe(Model):
    dashboard: bool = False
    port: int = 4040
    track_cost: bool = False
    # OpenTelemetry export (see tutti.telemetry): off unless `otel = true` or an endpoint is set.
    otel: bool = False
    otlp_endpoint: str | None = None  # base URL; /v1/traces and /v1/metrics are appended
    otlp_protocol: Literal["http/protobuf", "http/json"] | None = None
    otlp_headers: dict[str, str] = Field(default_factory=dict)
    otel_export_interval_ms: int = Field(default=1000, ge=50)

    @field_validator("otlp_endpoint")
    @classmethod
    def _endpoint_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL (OTLP over HTTP), e.g. http://127.0.0.1:4318")
        return value


class Webhook(Model):
    source: str
    events: list[str] = Field(default_factory=list)
    workflow: str | None = None
    agent: str | None = None
    prompt: str | None = None
    secret_env: str | None = None  # env var holding the HMAC secret (X-Hub-Signature-256)


class GitHubSettings(Model):
    """`[github]`: where the GitHub client points for the gate, `land --pr` and github intakes
    (each key falls back to $GITHUB_API_URL, $GITHUB_REPOSITORY / the origin remote, $GITHUB_TOKEN)."""

    api_url: str | None = None  # e.g. https://ghe.example.com/api/v3
    repo: str | None = None  # owner/name
    token_env: str | None = None  # env var holding the token, tried before GITHUB_TOKEN/GH_TOKEN


class Gate(Model):
    """`[gate]`: the merge gate `land` steps enforce. `local` needs no GitHub."""

    kind: Literal["none", "local", "github"] = "local"
    workflow: str | None = None  # must pass on the agent's branch
    commands: list[str] = Field(default_factory=list)
    require_review: bool = False


class Intake(Model):
    """`[[intake]]`: one place work items come from (see `tutti.intake`). Keys apply by kind."""

    name: str
    kind: Literal["github", "linear", "jira", "queue", "webhook"]
    labels: list[str] = Field(default_factory=list)  # github/queue: items must carry all of these
    lease_ttl_secs: int = 1800  # a claim expires this long after its last heartbeat
    # github
    repo: str | None = None  # owner/name; default $GITHUB_REPOSITORY, else the origin remote
    milestone: str | None = None  # title or number
    # github/linear/jira: API endpoint (default: the service's public one) and credentials
    api_url: str | None = None
    token_env: str | None = None  # env var holding the token (github: GITHUB_TOKEN/GH_TOKEN/gh)
    # linear
    team: str | None = None  # team key, e.g. ENG
    states: list[str] = Field(default_factory=list)  # linear/jira: open-state names (default: unstarted)
    # jira
    project: str | None = None  # project key, e.g. PROJ
    jql: str | None = None  # overrides project/labels/states
    email_env: str | None = None  # jira basic auth user (token from token_env)
    done_transition: str = "Done"
    # webhook
    source: str | None = None  # match the webhook's source ("*" = any)
    events: list[str] = Field(default_factory=list)  # empty = all
    secret_env: str | None = None  # env var holding the HMAC secret (X-Hub-Signature-256)


class LoopMergeQueue(Model):
    """`[loop.merge_queue]`: how lanes land onto the target branch (see `tutti.loop.merge_queue`)."""

    batch: int = 1  # land this many changes together; a failed batch is bisected
    batch_wait_secs: float = 0.0  # wait up to this long for a batch to fill
    verify: list[str] | None = None  # commands that must pass on the merged result (default: [gate].commands)
    verify_timeout_secs: int = 1800


class Loop(Model):
    """`[loop]`: run `workflow` once per claimed work item, in `lanes` parallel lanes (`tt loop`)."""

    workflow: str
    intake: list[str] = Field(default_factory=list)  # [[intake]] names; empty = every one
    implementer: str = "implementer"  # the agent cloned once per lane (implementer-1 .. implementer-N)
    lanes: int = 1
    target: str = "main"  # the branch the merge queue lands onto
    remote: str | None = None  # push the target here after each landing (e.g. "origin"); none = local only
    pr: bool = False  # open a pull request per item on the forge of `remote`
    reviewers: list[Literal["agent", "ci", "bot", "human"]] = Field(default_factory=lambda: ["ci"])
    reviewer: str = "reviewer"  # the reviewer agent, for reviewers = ["agent"]
    bot_logins: list[str] = Field(default_factory=list)  # PR reviewers counted as the review bot ("bot")
    bot_wait_secs: float = 0.0  # "bot": wait this long for the first review of a bot_logins user on a new PR
    max_review_rounds: int = 3
    fix_timeout_secs: int = 1800  # how long the author agent may take to address one round
    approval_timeout_secs: float = 86400.0  # reviewers = ["human"]: wait this long for `tt approvals approve`
    max_cost_usd: float | None = None  # refuse to merge an item whose run cost more than this
    lease_ttl_secs: float | None = None  # claim lease TTL (default: the intake's lease_ttl_secs)
    poll_secs: float = 10.0  # how often an idle lane looks for new work
    close_items: bool = True  # close the item (with a comment linking the merge) once landed
    autostart: bool = False  # `tt serve` runs the loop while it serves this workspace
    merge_queue: LoopMergeQueue = Field(default_factory=LoopMergeQueue)


class DirectSettings(Model):
    """`[direct]`: defaults for every API-direct agent (each agent may override)."""

    allowed_tools: list[str] | None = None
    network_boundary: Literal["open", "air-gapped"] = "open"
    budget_usd: float | None = None
    requires_approval: list[str] | bool = False
    max_turns: int = 40
    shell_timeout_secs: float = 120.0
    approval_timeout_secs: float = 3600.0


class EngineTable(Model):
    """`[engine]`: where workflow runs execute. `local` (default): in the `tt` process; `temporal`:
    one Temporal workflow per run, steps as activities on the control or a `tt host` queue.
    Secrets never live here: the `*_env` keys name environment variables."""

    kind: Literal["local", "temporal"] = "local"
    address: str = "127.0.0.1:7233"  # host:port of the Temporal frontend
    namespace: str = "default"
    task_queue_prefix: str = "tutti"  # queues: <prefix>.control and <prefix>.host.<host>
    tls: bool = False  # TLS to the frontend (implied by tls_cert_env / api_key_env)
    tls_cert_env: str | None = None  # env var holding the PATH of a client certificate (mTLS)
    tls_key_env: str | None = None  # env var holding the PATH of its private key
    api_key_env: str | None = None  # env var holding a Temporal Cloud API key
    heartbeat_secs: float = 10.0  # long agent turns heartbeat this often
    step_timeout_secs: float = 86400.0  # one step attempt (activity start-to-close)
    placement_timeout_secs: float = 300.0  # a label-placed agent's step waits this long for a matching host


class ModelPrice(Model):
    """`[pricing.<model>]`: USD per million tokens, overriding the built-in table."""

    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None


class TuttiConfig(TuttiConfigMethods, Model):
    workspace: WorkspaceSection
    defaults: Defaults = Field(default_factory=Defaults)
    roles: dict[str, str] | None = None
    launch: Launch = Field(default_factory=Launch)
    budget: Budget | None = None
    agents: list[Agent] = Field(default_factory=list, alias="agent")
    runtimes: list[CustomRuntime] = Field(default_factory=list, alias="runtime")
    tool_packs: list[ToolPack] = Field(default_factory=list, alias="tool_pack")
    workflows: list[Workflow] = Field(default_factory=list, alias="workflow")
    hooks: list[Hook] = Field(default_factory=list, alias="hook")
    handoff: Handoff = Field(default_factory=Handoff)
    observe: Observe = Field(default_factory=Observe)
    webhooks: list[Webhook] = Field(default_factory=list, alias="webhook")
    gate: Gate = Field(default_factory=Gate)
    github: GitHubSettings = Field(default_factory=GitHubSettings)
    loop: Loop | None = None
    intake: list[Intake] = Field(default_factory=list)
    direct: DirectSettings = Field(default_factory=DirectSettings)
    pricing: dict[str, ModelPrice] = Field(default_factory=dict)
    engine: EngineTable = Field(default_factory=EngineTable)
    # agent(), workflow(), resolved_runtime(), uses_worktree(): TuttiConfigMethods (shared with
    # the cached view that read-only commands use, so both run the same code)


# -- global config (~/.config/tutti/config.toml) ------------------------------------------------
def _casefold(value: object) -> object:
    """The original compares the global config's enum values case-insensitively (`plan = "API"`)."""
    return value.strip().lower() if isinstance(value, str) else value


_DAY_ABBREVIATIONS = {d[:3]: d for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}


def _weekday(value: object) -> object:
    """`reset_day = "Mon"` / `"mon"` / `"MONDAY"` all mean monday, as in the original — which
    also reads any other word as monday: so do we (a crash before), but say so."""
    value = _casefold(value)
    if not isinstance(value, str):
        return value
    day = _DAY_ABBREVIATIONS.get(value, value)
    if day in _DAY_ABBREVIATIONS.values():
        return day
    from tutti.config import notices

    notices.publish([f"global config: reset_day {value!r} is not a weekday (mon … sun or the full name) — "
                     "the week resets on monday"])
    return "monday"


CaseFolded = BeforeValidator(_casefold)


class Profile(Model):
    name: str
    provider: str | None = None
    command: str | None = None
    max_concurrent: int | None = None
    monthly_budget: float | None = None
    priority: int | None = None
    plan: Annotated[Literal["free", "pro", "max", "team", "api"] | None, CaseFolded] = None
    reset_day: Annotated[str, BeforeValidator(_weekday)] = "monday"
    weekly_hours: float | None = None
    # API-direct credentials: the *name* of an env var, never the key itself
    api_key_env: str | None = None
    base_url: str | None = None
    model: str | None = None


class RegisteredWorkspace(Model):
    name: str
    path: str


class DashboardSettings(Model):
    port: int = 4040
    show_all_workspaces: bool = False


class Resilience(Model):
    provider_down_strategy: Annotated[str | None, CaseFolded] = None
    rate_limit_strategy: Annotated[str | None, CaseFolded] = None
    save_state_on_failure: bool = False
    retry_max_attempts: int = 1
    retry_initial_backoff_ms: int = 500
    retry_max_backoff_ms: int = 5000
    # Tutti additions: runtime recovery (tutti.resilience)
    restart_persistent: bool = False  # restart `persistent = true` agents whose session/process died
    recovery_backoff_secs: float = 30.0  # wait before the 2nd recovery of an agent; doubles per attempt
    recovery_max_backoff_secs: float = 600.0
    recovery_max_attempts: int = 3  # circuit breaker: consecutive recoveries before a human is needed
    recovery_reset_secs: float = 600.0  # healthy this long after a recovery closes the breaker again
    correlation_window_secs: float = 60.0  # same failure on one profile by 2+ agents → provider-level

    ROTATION_VALUES: ClassVar[tuple[str, ...]] = ("rotate", "rotate_profile", "profile_rotate", "failover", "auto_rotate")

    def rotation_enabled(self) -> bool:
        return any(s in self.ROTATION_VALUES for s in (self.provider_down_strategy, self.rate_limit_strategy))


class Permissions(Model):
    allow: list[str] = Field(default_factory=list)


class ServeSettings(Model):
    bind: str = "127.0.0.1"
    auth: Annotated[Literal["none", "bearer"], CaseFolded] = "none"


class Remote(Model):
    name: str
    host: str
    port: int = 4040
    token: str | None = None


class UserSection(Model):
    name: str | None = None


class GlobalConfig(Model):
    user: UserSection = Field(default_factory=UserSection)
    profiles: list[Profile] = Field(default_factory=list, alias="profile")
    registered_workspaces: list[RegisteredWorkspace] = Field(default_factory=list, alias="registered_workspace")
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    resilience: Resilience = Field(default_factory=Resilience)
    permissions: Permissions | None = None
    serve: ServeSettings = Field(default_factory=ServeSettings)
    remotes: list[Remote] = Field(default_factory=list, alias="remote")

    def profile(self, name: str) -> Profile | None:
        return next((p for p in self.profiles if p.name == name), None)

"""`tt doctor`: is this machine and workspace ready to run agents? (inventory §9.5)

Each check returns pass / warn / fail with a detail and, when not passing, the fix. Doctor
never raises for what it diagnoses: a missing or invalid tutti.toml is itself a failing check,
so the rest of the report (tmux, git, …) is still useful.
"""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutti import proc
from tutti.config.models import BUILTIN_RUNTIMES
from tutti.errors import TuttiError

if TYPE_CHECKING:
    from tutti.config.models import Agent, GlobalConfig, Profile
    from tutti.workspace import Workspace

RUNTIME_BINARIES = {"claude-code": "claude", "codex": "codex", "aider": "aider", "gemini-cli": "gemini",
                    "openclaw": "openclaw"}
# A profile `command` overrides a runtime's binary only when it is meant for that runtime.
_PROFILE_MATCH = {"claude-code": ("claude", "anthropic"), "codex": ("codex", "openai"), "aider": ("aider", None),
                  "gemini-cli": ("gemini", "google"), "openclaw": ("openclaw", "openclaw")}
SHIM_RUNTIMES = ("codex", "aider", "openclaw", "gemini-cli")
POLICY_RUNTIMES = ("claude-code", "codex", "aider", "openclaw", "gemini-cli")


@dataclass
class Check:
    check: str
    status: str  # pass | warn | fail
    detail: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)

    def add(self, check: str, status: str, detail: str, fix: str | None = None) -> None:
        self.checks.append(Check(check, status, detail, fix))

    def count(self, status: str) -> int:
        return sum(1 for c in self.checks if c.status == status)

    def to_dict(self) -> dict[str, Any]:
        return {"checks": [c.to_dict() for c in self.checks],
                "summary": {s: self.count(s) for s in ("pass", "warn", "fail")}}


def run_doctor(start: Path | None = None) -> DoctorReport:
    from tutti.workspace import load_workspace

    report = DoctorReport()
    _check_binary(report, "tmux", ["tmux", "-V"], "install tmux: apt-get install tmux (or brew install tmux)")
    _check_binary(report, "git", ["git", "--version"], "install git: apt-get install git")
    try:
        gcfg = _global_config()
    except TuttiError as exc:
        report.add("global config", "fail", exc.message, exc.hint)
        gcfg = None
    try:
        ws = load_workspace(start)
    except TuttiError as exc:
        report.add("config", "fail", exc.message, exc.hint)
        return report
    unknown = _unknown_role_runtimes(ws)
    if unknown:
        report.add("config", "fail", f"{ws.config_path}: " + "; ".join(unknown),
                   f"use a built-in runtime ({', '.join(BUILTIN_RUNTIMES)}) or declare [[runtime]] name = \"...\"")
    else:
        report.add("config", "pass", f"{ws.config_path} loaded ({len(ws.config.agents)} agents, "
                                      f"{len(ws.config.workflows)} workflows)")
    for warning in ws.warnings:
        report.add("config/warning", "warn", str(warning), "fix or remove the key in tutti.toml")
    _check_git_repo(report, ws)
    from tutti.ops.doctor_project import check_project

    check_project(report, ws)
    if gcfg is not None:
        _check_profile(report, ws, gcfg)
        _check_launch_policy(report, ws, gcfg)
    for agent in ws.config.agents:
        _check_agent_runtime(report, ws, agent, gcfg)
    _check_tool_packs(report, ws)
    _check_live_agents(report, ws)
    _check_provider_health(report, ws)
    _check_state(report, ws)
    if gcfg is not None:
        _check_port(report, gcfg.dashboard.port)
    return report


def _unknown_role_runtimes(ws: Workspace) -> list[str]:
    """`[roles]` entries naming a runtime that neither ships with tutti nor is a [[runtime]]."""
    custom = {r.name for r in ws.config.runtimes}
    return [f"[roles] {role} = \"{runtime}\": unknown runtime '{runtime}'"
            for role, runtime in (ws.config.roles or {}).items()
            if runtime not in BUILTIN_RUNTIMES and runtime not in custom]


def _global_config() -> GlobalConfig:
    from tutti.workflows.settings import load_global_config

    return load_global_config()


def _check_binary(report: DoctorReport, name: str, argv: list[str], fix: str) -> None:
    path = shutil.which(argv[0])
    if path is None:
        report.add(name, "fail", f"{argv[0]} not found on PATH", fix)
        return
    res = proc.run(argv, timeout=10)
    version = (res.stdout.strip() or res.stderr.strip()).splitlines()[:1]
    report.add(name, "pass", f"{path} ({version[0] if version else 'version unknown'})")


def _check_git_repo(report: DoctorReport, ws: Workspace) -> None:
    if shutil.which("git") is None:
        return
    res = proc.run(["git", "rev-parse", "--show-toplevel"], cwd=ws.root, timeout=10)
    if res.ok:
        report.add("git/repo", "pass", f"workspace is in git repo {res.stdout.strip()}")
    else:
        report.add("git/repo", "warn", f"{ws.root} is not inside a git repository; agent worktrees need one",
                   "run `git init` and commit once")


def _check_profile(report: DoctorReport, ws: Workspace, gcfg: GlobalConfig) -> None:
    name = ws.config.workspace.auth.default_profile
    if not name:
        report.add("auth profile", "warn", "no [workspace.auth] default_profile; runtimes use their own logins",
                   "set default_profile to a [[profile]] of the global config to get limits and usage")
        return
    profile = gcfg.profile(name)
    if profile is None:
        known = ", ".join(p.name for p in gcfg.profiles) or "none"
        report.add("auth profile", "fail", f"default_profile '{name}' is not a [[profile]] in the global config "
                                           f"(known: {known})", f"add [[profile]] name = \"{name}\" to the global config")
        return
    report.add("auth profile", "pass", f"profile '{name}' (provider {profile.provider or '?'}, plan {profile.plan or '?'})")
    if profile.command:
        binary = profile.command.split()[0]
        if shutil.which(binary) or Path(binary).is_file():
            report.add("profile command", "pass", f"{profile.command}")
        else:
            report.add("profile command", "fail", f"profile '{name}' command '{binary}' not found on PATH",
                       "install it or fix [[profile]] command")
    if profile.api_key_env and not os.environ.get(profile.api_key_env):
        report.add("profile credentials", "warn", f"profile '{name}' reads its key from ${profile.api_key_env}, "
                                                  "which is not set", f"export {profile.api_key_env}=...")


def _check_launch_policy(report: DoctorReport, ws: Workspace, gcfg: GlobalConfig) -> None:
    launch = ws.config.launch
    constrained = launch.mode == "auto" or (launch.mode == "unattended" and launch.policy == "constrained")
    runtimes = {ws.config.resolved_runtime(a) for a in ws.config.agents}
    rules = gcfg.permissions.allow if gcfg.permissions is not None else []
    if launch.mode == "unattended" and launch.policy == "bypass":
        report.add("launch policy", "warn", "launch policy is bypass; agents run commands without permission prompts",
                   "use [launch] mode = \"auto\" with [permissions] allow rules")
    elif constrained and runtimes & set(POLICY_RUNTIMES) and not rules:
        from tutti.config.global_config import global_path

        # a fresh `tt init` has no [launch] table: say the mode is the default, and where the rules go
        default = "" if "launch" in ws.config.model_fields_set else " (the default)"
        report.add("launch policy", "fail", f"[launch] mode = \"{launch.mode}\"{default} needs [permissions] allow "
                                            f"rules in the global config {global_path()} for constrained runs",
                   "add [permissions] allow = [\"git status\", \"pytest *\", ...] there (`tt permissions suggest "
                   "WORKFLOW` proposes rules), or set [launch] mode = \"safe\" in tutti.toml")
    else:
        report.add("launch policy", "pass", f"mode {launch.mode}, policy {launch.policy}, {len(rules)} allow rule(s)")
    if constrained and runtimes & set(SHIM_RUNTIMES):
        report.add("launch/policy_parity", "pass",
                   "codex/aider/openclaw/gemini are constrained by shell shims (weaker than Claude's native settings)")


def _binary_for(ws: Workspace, agent: Agent, runtime: str, profile: Profile | None) -> str | None:
    custom = next((r for r in ws.config.runtimes if r.name == runtime), None)
    if custom is not None:
        return custom.command.split()[0] if custom.command.strip() else None
    binary = RUNTIME_BINARIES.get(runtime)
    if profile is not None and profile.command and runtime in _PROFILE_MATCH:
        word, provider = _PROFILE_MATCH[runtime]
        if word in profile.command or (provider and profile.provider == provider):
            binary = profile.command.split()[0]
    return binary


def _check_agent_runtime(report: DoctorReport, ws: Workspace, agent: Agent, gcfg: GlobalConfig | None) -> None:
    name = f"runtime/{agent.name}"
    runtime = ws.config.resolved_runtime(agent)
    if runtime is None:
        if agent.provider:
            report.add(name, "pass", f"API-direct agent via provider '{agent.provider}'")
        else:
            report.add(name, "fail", f"agent '{agent.name}' has no runtime",
                       "set runtime on the agent, a [roles] mapping, or [defaults] runtime")
        return
    if runtime == "fake":
        report.add(name, "pass", "fake rehearsal runtime (shipped with tutti)")
        return
    profile_name = ws.config.workspace.auth.default_profile
    profile = gcfg.profile(profile_name) if gcfg is not None and profile_name else None
    binary = _binary_for(ws, agent, runtime, profile)
    if binary is None:
        report.add(name, "fail", f"agent '{agent.name}' uses unknown runtime '{runtime}'",
                   f"use one of {', '.join(BUILTIN_RUNTIMES)} or declare [[runtime]] name = \"{runtime}\"")
    elif shutil.which(binary) or (os.sep in binary and Path(binary).is_file()):
        report.add(name, "pass", f"{runtime}: {shutil.which(binary) or binary}")
    else:
        report.add(name, "fail", f"runtime '{runtime}' is not installed or not on PATH (binary '{binary}')",
                   f"install {binary} or fix the agent's runtime")


def _check_live_agents(report: DoctorReport, ws: Workspace) -> None:
    """`auth/{agent}` for running agents, from a live (read-only) classification of their screens."""
    if not ws.config.agents or shutil.which("tmux") is None:
        return
    try:
        from tutti.ops.status import status  # not ops.agents: no launch code for a read
    except ImportError:
        return
    try:
        rows = status(ws)
    except Exception as exc:  # a probe problem is a finding, not a doctor crash
        message = exc.message if isinstance(exc, TuttiError) else f"{type(exc).__name__}: {exc}"
        report.add("auth/agents", "warn", f"cannot probe agent sessions: {message}")
        return
    for row in rows:
        if not row.running:
            continue
        name = f"auth/{row.agent}"
        if row.state == "auth_failed":
            report.add(name, "fail", f"agent '{row.agent}' shows an authentication failure: {row.detail or row.status}",
                       f"log the runtime in again (tt attach {row.agent}), then restart it")
        elif row.state in ("rate_limited", "provider_down"):
            report.add(name, "warn", f"agent '{row.agent}' is {row.state.replace('_', ' ')}: {row.detail or ''}".rstrip(),
                       "wait, or switch the workspace to another profile")
        else:
            report.add(name, "pass", f"agent '{row.agent}' running ({row.state})")


def _check_provider_health(report: DoctorReport, ws: Workspace) -> None:
    """`provider/{provider}[/{profile}]` from what the last hour recorded (`tt health` has the detail).
    A provider that was down or degraded is a warning, not a failure: it may have recovered since."""
    from tutti.ops.health import provider_health

    try:
        rows = provider_health(ws)
    except (TuttiError, OSError) as exc:  # e.g. no usable .tutti/ — the state check reports that itself
        report.add("provider health", "warn", f"cannot read provider health: {getattr(exc, 'message', exc)}")
        return
    for h in rows:
        if h.status == "unknown":
            continue
        name = f"provider/{h.provider}" + (f"/{h.profile}" if h.profile else "")
        traffic = f"{h.requests + h.errors} calls/turns, error rate {h.error_rate:.0%} in the last hour"
        if h.status == "ok":
            report.add(name, "pass", f"ok ({traffic})")
            continue
        failing = ", ".join(f"{a} {s.replace('_', ' ')}" for a, s in h.failing_agents.items())
        report.add(name, "warn", f"{h.status}: {failing or traffic}"
                   + (f"; rate-limited until {h.rate_limit_reset_at}" if h.rate_limit_reset_at else ""),
                   "see `tt health`; recovery rotates profiles when [resilience] is set")


def _check_tool_packs(report: DoctorReport, ws: Workspace) -> None:
    packs = ws.config.tool_packs
    if not packs:
        report.add("tool packs", "warn", "no [[tool_pack]] declared", "declare the commands/env your workflows need")
        return
    for pack in packs:
        if not pack.required_commands and not pack.required_env:
            report.add(f"tool-pack/{pack.name}", "warn", "declares no required_commands or required_env")
            continue
        missing = [c for c in pack.required_commands if shutil.which(c) is None]
        if pack.required_commands:
            report.add(f"tool-pack/{pack.name}/cmd", "fail" if missing else "pass",
                       f"missing commands: {', '.join(missing)}" if missing else
                       f"found {', '.join(pack.required_commands)}",
                       f"install {', '.join(missing)}" if missing else None)
        unset = [e for e in pack.required_env if not os.environ.get(e)]
        if pack.required_env:
            report.add(f"tool-pack/{pack.name}/env", "fail" if unset else "pass",
                       f"unset environment variables: {', '.join(unset)}" if unset else
                       f"set: {', '.join(pack.required_env)}",
                       f"export {' '.join(v + '=...' for v in unset)}" if unset else None)


def _check_state(report: DoctorReport, ws: Workspace) -> None:
    probe = ws.state_dir / f".doctor-{os.getpid()}"
    try:
        ws.state_dir.mkdir(parents=True, exist_ok=True)
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
        report.add("state_dir", "pass", f"{ws.state_dir} is writable")
    except OSError as exc:
        report.add("state_dir", "fail", f"{ws.state_dir} is not writable: {exc}", "fix the permissions of .tutti/")
        return
    try:
        store = ws.store
        report.add("store", "pass", f"{store.path} (schema v{store.schema_version}, last event seq {store.latest_seq()})")
    except Exception as exc:  # any sqlite failure is a diagnosis here, not a crash
        report.add("store", "fail", f"cannot open the workspace store: {exc}",
                   "check .tutti/tutti.db (move it aside to start a fresh one)")


def _check_port(report: DoctorReport, port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
        report.add("serve/port", "pass", f"127.0.0.1:{port} is free for `tt serve`")
    except OSError:
        report.add("serve/port", "pass", f"127.0.0.1:{port} is in use (perhaps `tt serve` is running)")
    finally:
        sock.close()

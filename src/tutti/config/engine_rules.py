"""Cross-field rules of the `[engine]` table and of `[[agent]] host` / `host_labels`, each with its key path and a fix."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from tutti.config import keypath

if TYPE_CHECKING:
    from tutti.config.models import TuttiConfig

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_QUEUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_ADDRESS = re.compile(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}")


def engine_problems(config: TuttiConfig) -> Iterator:
    from tutti.config.problems import Problem

    eng = config.engine
    if not _ADDRESS.fullmatch(eng.address.strip()):
        yield Problem(keypath.join("engine", "address"), f"engine address '{eng.address}' is not host:port",
                      'e.g. address = "127.0.0.1:7233" or "NS.ACCOUNT.tmprl.cloud:7233"')
    if not eng.namespace.strip():
        yield Problem(keypath.join("engine", "namespace"), "engine namespace cannot be empty", 'namespace = "default"')
    if not _QUEUE.fullmatch(eng.task_queue_prefix):
        yield Problem(keypath.join("engine", "task_queue_prefix"),
                      f"engine task_queue_prefix '{eng.task_queue_prefix}' must be a plain name",
                      "letters, digits, '.', '_', '-' (queues are <prefix>.control and <prefix>.host.<host>)")
    for key in ("tls_cert_env", "tls_key_env", "api_key_env"):
        value = getattr(eng, key)
        if value is not None and not _ENV_NAME.fullmatch(value):
            yield Problem(keypath.join("engine", key), f"engine {key} must NAME an environment variable",
                          f'{key} = "TEMPORAL_API_KEY"; never put the secret itself in tutti.toml')
    if (eng.tls_cert_env is None) != (eng.tls_key_env is None):
        yield Problem(keypath.join("engine", "tls_key_env" if eng.tls_key_env is None else "tls_cert_env"),
                      "engine mTLS needs both tls_cert_env and tls_key_env", "set both, or neither")
    if eng.placement_timeout_secs <= 0:
        yield Problem(keypath.join("engine", "placement_timeout_secs"), "engine placement_timeout_secs must be > 0",
                      "the default is 300 (a label-placed agent's first step waits that long for a matching host)")
    if eng.heartbeat_secs <= 0 or eng.step_timeout_secs <= eng.heartbeat_secs:
        yield Problem(keypath.join("engine", "heartbeat_secs"),
                      "engine heartbeat_secs must be > 0 and below step_timeout_secs", "the default is 10")
    yield from _host_problems(config)


def _host_problems(config: TuttiConfig) -> Iterator:
    from tutti.config.problems import Problem

    for agent in config.agents:
        if agent.host_labels is not None:
            yield from _label_problems(config, agent)
        if agent.host is None:
            continue
        if not _HOST.fullmatch(agent.host):
            yield Problem(keypath.agent_path(agent.name, "host"), f"agent '{agent.name}' host '{agent.host}' must be a plain name",
                          "letters, digits, '.', '_', '-': the name `tt host --name NAME` serves")
        elif config.engine.kind != "temporal":
            yield Problem(keypath.agent_path(agent.name, "host"),
                          f"agent '{agent.name}' is placed on host '{agent.host}', but [engine] kind is 'local'",
                          'set [engine] kind = "temporal" (and run `tt host --name ' + agent.host + '` there), '
                          "or remove host")


def _label_problems(config: TuttiConfig, agent) -> Iterator:
    """`host_labels`: not with `host`, a non-empty list of plain names, Temporal only."""
    from tutti.config.problems import Problem

    path = keypath.agent_path(agent.name, "host_labels")
    if agent.host is not None:
        yield Problem(path, f"agent '{agent.name}' sets both host and host_labels",
                      "keep one: host = \"NAME\" pins the agent to that host; host_labels = [\"gpu\"] lets any "
                      "host with those labels take it")
    elif not agent.host_labels:
        yield Problem(path, f"agent '{agent.name}' host_labels is empty", 'e.g. host_labels = ["gpu"], or remove the key')
    elif bad := [label for label in agent.host_labels if not _HOST.fullmatch(label)]:
        yield Problem(path, f"agent '{agent.name}' host label '{bad[0]}' must be a plain non-empty name",
                      "letters, digits, '.', '_', '-': the labels `tt host --label L` serves")
    elif config.engine.kind != "temporal":
        yield Problem(path, f"agent '{agent.name}' is placed by host_labels, but [engine] kind is 'local'",
                      'set [engine] kind = "temporal" (and run `tt host --name N --label L` there), or remove host_labels')

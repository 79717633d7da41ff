"""A Temporal client for this workspace's `[engine]`, with the SDK's own logging kept off stdout.

Its own module so every caller (runs, approvals, schedules, remote calls, the worker) reaches
the client without importing the worker, which imports them back.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tutti.distributed.settings import EngineUnavailable, connection, require_sdk

if TYPE_CHECKING:
    from tutti.workspace import Workspace


async def connect(ws: Workspace) -> Any:
    """A client, or one clear line naming the address and the fix."""
    require_sdk()
    from temporalio.client import Client
    from temporalio.service import TLSConfig

    conn = connection(ws.config)
    _quiet_runtime()
    tls: Any = conn.tls
    if conn.cert_path and conn.key_path:
        with open(conn.cert_path, "rb") as c, open(conn.key_path, "rb") as k:
            tls = TLSConfig(client_cert=c.read(), client_private_key=k.read())
    try:
        return await Client.connect(conn.address, namespace=conn.namespace, tls=tls, api_key=conn.api_key,
                                    connect_timeout=timedelta(seconds=5))
    except Exception as exc:  # the SDK raises RuntimeError for an unreachable frontend
        raise EngineUnavailable(f"cannot reach the Temporal service at {conn.address} (namespace "
                                f"'{conn.namespace}'): {str(exc).splitlines()[0][:120]}",
                                hint="start one (`temporal server start-dev --headless`), or fix [engine] address; "
                                     "[engine] kind = \"local\" runs without it") from None


def _quiet_runtime() -> None:
    """The SDK core logs its retries to stdout by default, which would corrupt `tt run --json`:
    route them to Python logging (stderr, warnings and up) instead."""
    import logging

    from temporalio.runtime import (
        LogForwardingConfig,
        LoggingConfig,
        Runtime,
        TelemetryConfig,
        TelemetryFilter,
    )

    global _RUNTIME_SET
    if _RUNTIME_SET:
        return
    logger = logging.getLogger("tutti.temporal")
    if not os.environ.get("TUTTI_DEBUG"):
        logger.setLevel(logging.ERROR)  # the SDK's connection retries are noise on a user's terminal
    logging_config = LoggingConfig(filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                                   forwarding=LogForwardingConfig(logger=logger))
    try:
        Runtime.set_default(Runtime(telemetry=TelemetryConfig(logging=logging_config)), error_if_already_set=True)
    except RuntimeError:
        pass  # a client in this process set it up already
    _RUNTIME_SET = True


_RUNTIME_SET = False

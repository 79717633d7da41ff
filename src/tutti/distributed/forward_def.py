"""The Temporal workflow a host's forwarder starts on the control queue to hand over one batch of
its events (the host needs only its outbound connection). Its one local activity ingests the
batch into the control store with the spine's (host, host_seq) dedupe. No I/O here (replayed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

FORWARD = "TuttiForward"


@workflow.defn(name=FORWARD)
class TuttiForward:
    @workflow.run
    async def run(self, inp: dict[str, Any]) -> dict[str, Any]:
        return await workflow.execute_local_activity(
            "tutti.ingest_forwarded", inp, start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=5)))

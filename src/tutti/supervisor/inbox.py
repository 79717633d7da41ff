"""The supervisor's inbox part: deliver agent-to-agent messages (ops.messages) as prompts.

It sleeps until the store says something happened — a `message.posted` or an agent going idle
(both are events, so a commit wakes it: in-process callbacks for this process's writers, the
notify socket for others) — with `POLL_SECS` as the safety poll. A recipient gets its oldest
pending message only when its last known state is idle, one message per idle turn; the prompt
goes through `ops.send.send`, the same acknowledged delivery as `tt send`. Claiming a message is
a store transaction, so when several supervisors run (`tt up`'s background process, `tt serve`,
`tt watch`) each message is delivered once.
"""

from __future__ import annotations

import select
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutti.workspace import Workspace

POLL_SECS = 2.0
MIN_GAP_SECS = 0.1


def deliver_once(ws: Workspace) -> int:
    """Deliver what can be delivered now; returns how many messages went out."""
    from tutti.errors import TuttiError
    from tutti.ops import messages
    from tutti.ops.send import send

    sent = 0
    for recipient in messages.recipients_with_mail(ws):
        idle = messages.idle_seq(ws, recipient)
        if idle is None:
            continue  # delivered on its next idle (its `agent.idle` event wakes us)
        msg = messages.claim_next(ws, recipient, idle)
        if msg is None:
            continue  # another supervisor claimed it
        try:
            result = send(ws, recipient, msg.as_prompt(), wait=False, startup_grace_secs=0.0)
        except TuttiError as exc:
            messages.mark_failed(ws, msg, f"{exc.category}: {exc.message}")
            continue
        except Exception as exc:  # noqa: BLE001 — a tmux hiccup: retried, never kills the supervisor
            messages.mark_failed(ws, msg, f"{type(exc).__name__}: {exc}")
            continue
        messages.mark_delivered(ws, msg, result.delivery)
        sent += 1
    return sent


def supervise_inbox(ws: Workspace, stop: threading.Event, *, poll_secs: float = POLL_SECS) -> None:
    from tutti.store.wakeup import StoreWakeup

    with StoreWakeup(ws.store.path) as wake:
        stopper = threading.Thread(target=lambda: (stop.wait(), wake.poke()), daemon=True, name="tutti-inbox-stop")
        stopper.start()
        while not stop.is_set():
            # Every commit in the workspace wakes us: under a burst of events look at most
            # every MIN_GAP_SECS (one indexed query each time) rather than once per commit.
            stop.wait(MIN_GAP_SECS)
            try:
                deliver_once(ws)
            except Exception as exc:  # noqa: BLE001 — e.g. the store busy: say so, try again next wake-up
                print(f"inbox: {type(exc).__name__}: {exc}", file=sys.stderr)
            ready, _, _ = select.select(wake.fds, [], [], poll_secs)
            wake.drain(ready)


def start_background(ws: Workspace, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=supervise_inbox, args=(ws, stop), daemon=True, name=f"tutti-inbox-{ws.name}")
    thread.start()
    return thread

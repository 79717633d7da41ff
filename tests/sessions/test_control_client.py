"""The control-mode client reports pane output as it happens, and the session's end."""

from __future__ import annotations

import threading
import time

from tutti.sessions.control import ControlClient
from tutti.sessions.tmux import TmuxBackend


def test_output_notifications_arrive_and_exit_is_reported(tmux_socket, tmp_path):
    backend = TmuxBackend()
    backend.create("ctl", ["sh", "-c", "read x; echo got $x; sleep 30"], cwd=tmp_path, env={})
    outputs: list[str] = []
    seen = threading.Event()

    def on_output(pane: str) -> None:
        outputs.append(pane)
        seen.set()

    client = ControlClient(backend, "ctl", on_output=on_output).start()
    try:
        time.sleep(0.3)  # let the client attach before output is produced
        seen.clear()
        backend.send_text("ctl", "hello")
        assert seen.wait(20), "no %output notification"
        assert outputs[-1] == backend.pane("ctl").pane_id
        backend.kill("ctl")
        deadline = time.monotonic() + 20
        while not client.exited and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.exited
    finally:
        client.stop()


def test_attaching_a_control_client_does_not_resize_the_window(tmux_socket, tmp_path):
    backend = TmuxBackend()
    backend.create("size", ["sleep", "30"], cwd=tmp_path, env={})
    client = ControlClient(backend, "size", on_output=lambda p: None).start()
    try:
        time.sleep(0.5)
        info = backend.pane("size")
        assert (info.width, info.height) == (200, 50)
    finally:
        client.stop()

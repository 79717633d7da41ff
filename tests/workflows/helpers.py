"""Polling and process helpers shared by the engine tests."""

from __future__ import annotations

import os

from tests.helpers import wait_until as wait_for  # noqa: F401 (the engine tests' name for it)


def alive(pid: int) -> bool:
    """Running and not a zombie (an orphaned zombie waits for a reaper that may never come)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def kill_group_of(pid: int) -> None:
    import signal

    try:
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def unvalidated_workspace(root, toml_text: str):
    """A Workspace built from the raw model, bypassing config validation — for testing the
    engine's own guards against documents validation would already reject."""
    import tomllib

    from tutti.config.models import TuttiConfig
    from tutti.workspace import Workspace

    return Workspace(root=root, config=TuttiConfig.model_validate(tomllib.loads(toml_text)))

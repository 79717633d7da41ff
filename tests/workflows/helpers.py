"""Polling and process helpers shared by the engine tests."""

from __future__ import annotations

import os

from tests.helpers import wait_until as wait_for  # noqa: F401 (the engine tests' name for it)

from tutti.proctree import running as alive  # noqa: F401 (running and not a zombie)


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

"""tmux session names. The original used `tutti-{workspace}-{agent}` unsanitised; tmux treats
`.` and `:` specially in targets, so those (and whitespace) become `_`."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def session_name(workspace: str, agent: str) -> str:
    return f"tutti-{_UNSAFE.sub('_', workspace)}-{_UNSAFE.sub('_', agent)}"

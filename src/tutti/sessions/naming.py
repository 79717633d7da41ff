"""tmux session names. The original used `tutti-{workspace}-{agent}` unsanitised; tmux treats
`.` and `:` specially in targets, so those (and whitespace) become `_`.

Two folders with the same `[workspace] name` (two clones of a repo with a committed tutti.toml)
get the same names, so a name alone cannot say whose session it is. `SessionName` is the name
plus the workspace root that asks for it: every caller gets its names from
`Workspace.session_name`, so the backend can check — at the one place every command goes
through — that an existing session was launched by this root (`@tutti_root`, set at launch)
before acting on it (`tutti.sessions.tmux`)."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class SessionName(str):
    """A session name that knows which workspace root it belongs to (`root`, "" = unknown)."""

    __slots__ = ("root",)
    root: str

    def __new__(cls, name: str, root: str = "") -> SessionName:
        self = super().__new__(cls, name)
        self.root = root
        return self

    def __reduce__(self):  # copy/deepcopy/pickle keep the root
        return (SessionName, (str(self), self.root))


def session_name(workspace: str, agent: str, root: str = "") -> str:
    return SessionName(f"tutti-{_UNSAFE.sub('_', workspace)}-{_UNSAFE.sub('_', agent)}", root)


def live_and_ours(panes: dict, session: str) -> bool:
    """Whether `session` is in a `backend.panes()` listing and was not launched by another root."""
    pane = panes.get(session)
    return pane is not None and not foreign_root(session, pane.root)


def foreign_root(session: str, launched_by: str) -> str | None:
    """The other workspace root when `session` (asked for by one root) was launched by another;
    None when it is ours, or when either side is unknown (a plain name; a session started by
    hand or by a version that did not record its root)."""
    mine = getattr(session, "root", "")
    return launched_by if mine and launched_by and launched_by != mine else None

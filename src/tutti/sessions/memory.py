"""Agent memory (`memory = "path"` on an [[agent]]): standing instructions given at launch.

- claude-code in a worktree: a managed section of the worktree's `CLAUDE.md` (between
  `<!-- tutti:agent-memory:start -->` and `<!-- tutti:agent-memory:end -->`), which Claude
  Code reads by itself. The file is recorded as *injected* in `.tutti/state/worktrees.json`,
  and `tt land` commits the agent's own edits to it without the managed section (§12.10).
- any other runtime: prepended to the initial prompt as `## Agent Memory … ---`.

The memory file must be a regular file inside the workspace (no symlinks, no escapes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tutti.errors import ConfigError
from tutti.paths import inside

START = "<!-- tutti:agent-memory:start -->"
END = "<!-- tutti:agent-memory:end -->"
_SECTION = re.compile(re.escape(START) + r".*?" + re.escape(END) + r"\n?", re.DOTALL)
INSTRUCTIONS_FILE = {"claude-code": "CLAUDE.md"}


@dataclass
class Injection:
    prompt: str | None  # the initial prompt to launch with (memory prepended when needed)
    injected_file: str | None = None  # path inside the worktree tutti wrote, if any
    note: str | None = None


def read_memory(root: Path, agent: str, rel: str) -> str:
    path = root / rel
    key = f"agent '{agent}' memory"
    if path.is_symlink():
        raise ConfigError(f"{root / 'tutti.toml'}: {key}: '{rel}' is a symlink", hint="point memory at a regular file")
    if not inside(root, path):
        raise ConfigError(f"{root / 'tutti.toml'}: {key}: '{rel}' resolves outside the workspace",
                          hint="memory files must live inside the workspace")
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(f"{root / 'tutti.toml'}: {key}: file '{rel}' not found",
                          hint="create the file or fix the memory path") from None


def strip_section(text: str) -> str:
    return _SECTION.sub("", text)


def with_section(text: str, memory: str) -> str:
    block = f"{START}\n# Agent Memory\n\n{memory}\n{END}\n"
    if START in text and END in text:
        return _SECTION.sub(lambda _m: block, text, count=1)
    return block + ("\n" + text if text else "")


def inject(root: Path, agent: str, memory_rel: str | None, runtime: str, workdir: Path, prompt: str | None,
           in_worktree: bool) -> Injection:
    if not memory_rel:
        return Injection(prompt)
    memory = read_memory(root, agent, memory_rel)
    target = INSTRUCTIONS_FILE.get(runtime)
    if target and in_worktree:
        path = workdir / target
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        path.write_text(with_section(current, memory), encoding="utf-8")
        return Injection(prompt, injected_file=target)
    if prompt:
        return Injection(f"## Agent Memory\n\n{memory}\n\n---\n\n{prompt}")
    return Injection(None, note=f"memory '{memory_rel}' not injected: runtime '{runtime}' has no instructions file "
                                "here and the agent has no initial prompt to prepend it to")

"""Verify steps for the node, go, rust and minimal templates, from what the repository declares.

Every template the detector can pick ends up with a `verify` workflow that runs the project's own
checks: Node's `test`/`lint`/`typecheck` scripts through the package manager its lockfile names,
`go vet` + `go test`, `cargo test` (+ clippy), and for an unrecognised repository its Makefile's
`test` target or, failing that, a placeholder check that says what to put there.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

# npm's `npm init` default: a test script that only fails.
_NPM_DEFAULT_TEST = re.compile(r"no test specified")
LOCKFILES = (("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"), ("bun.lockb", "bun"), ("bun.lock", "bun"),
             ("package-lock.json", "npm"), ("npm-shrinkwrap.json", "npm"))


def step_toml(sid: str, run: str, secs: int, description: str | None = None) -> str:
    """One `[[workflow.step]]` table; fail_mode is always explicit (the default is `open`)."""
    head = f"# {description}\n" if description else ""
    run_toml = json.dumps(run)  # a JSON string is a valid TOML basic string
    return (f'{head}[[workflow.step]]\nid = "{sid}"\ntype = "command"\nrun = {run_toml}\n'
            f'fail_mode = "closed"\ntimeout_secs = {secs}\n')


def package_manager(root: Path) -> str:
    for name, manager in LOCKFILES:
        if (root / name).is_file():
            return manager
    try:
        declared = json.loads((root / "package.json").read_text(encoding="utf-8")).get("packageManager", "")
    except (OSError, ValueError, AttributeError):
        declared = ""
    if isinstance(declared, str) and declared.split("@")[0] in ("pnpm", "yarn", "npm", "bun"):
        return declared.split("@")[0]
    return "npm"


def node_scripts(root: Path) -> dict[str, str]:
    try:
        data = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    scripts = data.get("scripts") if isinstance(data, dict) else None
    return {k: v for k, v in scripts.items() if isinstance(v, str)} if isinstance(scripts, dict) else {}


def node_verify_steps(root: Path) -> str:
    manager = package_manager(root)
    scripts = node_scripts(root)
    steps = []
    test = scripts.get("test")
    if test and not _NPM_DEFAULT_TEST.search(test):
        steps.append(step_toml("test", f"{manager} test", 900, f"package.json scripts.test ({manager}, from the lockfile)"))
    for name, secs in (("lint", 300), ("typecheck", 600)):
        if name in scripts:
            steps.append(step_toml(name, f"{manager} run {name}", secs, f"package.json scripts.{name}"))
    if not steps:
        steps.append(step_toml("check", "node -e \"require('./package.json')\"", 60,
                               "package.json declares no test script: replace this with your test command"))
    return "\n".join(steps)


def has_make_target(root: Path, target: str) -> bool:
    for name in ("Makefile", "makefile", "GNUmakefile"):
        try:
            text = (root / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if re.search(rf"^{re.escape(target)}\s*:", text, re.MULTILINE):
            return True
    return False


def minimal_verify_steps(root: Path) -> str:
    if has_make_target(root, "test"):
        return step_toml("test", "make test", 900, "the Makefile's test target")
    # No test command we can recognise: a real, quick check that passes on a clean tree, and a
    # comment that says what belongs here — `tt run verify` works from the first minute. Outside
    # a git repository `git diff --check` fails (exit 129), so there the placeholder only says so.
    if any((p / ".git").exists() for p in (root, *root.parents)):
        return step_toml("check", "git diff --check", 60,
                         "no test command detected: replace this with your project's test command")
    return step_toml("check", "echo 'no test command configured: replace this verify step in tutti.toml'", 60,
                     "no test command detected (and not a git repository): replace this with your test command")

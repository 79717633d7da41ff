"""Config templates: parsing (inventory §8 format), repository detection and rendering.

A template file is a `[template]` metadata table, the separator line `# ── config below ──`,
then the tutti.toml body. Only the metadata must parse as TOML on its own; the body is text
with `{{variable}}` placeholders (`project_name`, and repo-derived ones such as
`python_verify_steps`) and must parse and validate once rendered. Placeholders that are not
template variables (e.g. `{{output.design_doc.path}}`, used by workflows at run time) are
left untouched.

Detection scores every built-in: it qualifies when one `detect` path (if any) and all
`detect_all` paths exist; score = 1 per `detect` match + 2 per `detect_all` match + ½ per
`detect_extra` match (supporting evidence only). The highest score wins, ties go to the
template with more `detect_all` requirements, then by name — there is never a silent
fallback to `minimal` when something matched (the original's flaw, §12.15).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tutti.errors import ConfigError

SEPARATOR = "# ── config below ──"
FALLBACK = "minimal"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class TemplateRole(BaseModel):
    model_config = ConfigDict(extra="allow")
    default_runtime: str
    description: str | None = None


class TemplateMeta(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    version: str
    description: str = ""
    author: str | None = None
    detect: list[str] = Field(default_factory=list)
    detect_all: list[str] = Field(default_factory=list)
    detect_extra: list[str] = Field(default_factory=list)
    roles: dict[str, TemplateRole] = Field(default_factory=dict)


@dataclass
class Template:
    meta: TemplateMeta
    body: str
    source: str  # "built-in" or the file path

    @property
    def name(self) -> str:
        return self.meta.name

    def to_dict(self) -> dict:
        return {"name": self.meta.name, "version": self.meta.version, "description": self.meta.description,
                "source": self.source, "roles": {k: v.model_dump(exclude_none=True) for k, v in self.meta.roles.items()}}


@dataclass
class TemplateMatch:
    template: Template
    score: float
    matched: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"template": self.template.name, "score": self.score, "matched": list(self.matched)}


@dataclass
class TemplatePick:
    template: Template
    reason: str
    matches: list[TemplateMatch] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"template": self.template.name, "reason": self.reason, "matches": [m.to_dict() for m in self.matches]}


# -- loading ------------------------------------------------------------------------------------
def parse_template(text: str, source: str) -> Template:
    from pydantic import ValidationError

    from tutti.config.model_errors import issues_from_validation_error

    head, sep, body = text.partition(SEPARATOR)
    if not sep:
        raise ConfigError(f"{source}: template file missing '{SEPARATOR}' separator",
                          hint="put the [template] table first, then that line, then the tutti.toml body")
    try:
        data = tomllib.loads(head)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: failed to parse template header: {exc}",
                          hint="fix the TOML of the [template] table above the separator") from None
    table = data.get("template")
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: template file has no [template] table",
                          hint="start the file with [template] name = \"...\" version = \"...\"")
    try:
        meta = TemplateMeta.model_validate(table, strict=True)
    except ValidationError as exc:
        issue = issues_from_validation_error(exc, {"template": table}, source)[0]
        raise ConfigError(issue.render().replace("invalid config:", "invalid template:", 1), hint=issue.hint) from None
    return Template(meta=meta, body=body.split("\n", 1)[1] if "\n" in body else "", source=source)


def builtin_names() -> list[str]:
    folder = resources.files("tutti").joinpath("templates")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def builtin(name: str) -> Template:
    if name not in builtin_names():
        raise ConfigError(
            f"template not found: '{name}' — run `tt init --list` to see the available templates, "
            "or provide a path to a custom .toml file",
            hint=f"built-in templates: {', '.join(builtin_names())}")
    text = resources.files("tutti").joinpath("templates", f"{name}.toml").read_text(encoding="utf-8")
    return parse_template(text, f"template '{name}'")


def builtins() -> list[Template]:
    return [builtin(n) for n in builtin_names()]


def is_template_path(value: str) -> bool:
    return "/" in value or value.endswith(".toml")


def resolve(name_or_path: str, cwd: Path) -> Template:
    """A built-in by name, or a custom template file when the value looks like a path."""
    if not is_template_path(name_or_path):
        return builtin(name_or_path)
    path = Path(name_or_path).expanduser()
    path = path if path.is_absolute() else cwd / path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"template not found: '{name_or_path}' (no such file {path})",
                          hint="check the path, or use a built-in name (`tt init --list`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read template {path}: {exc}", hint="templates are UTF-8 TOML files") from None
    return parse_template(text, str(path))


# -- detection ----------------------------------------------------------------------------------
def _exists(root: Path, pattern: str) -> bool:
    if any(ch in pattern for ch in "*?["):
        return any(True for _ in root.glob(pattern))
    target = root / pattern
    return target.is_dir() if pattern.endswith("/") else target.exists()


def score(template: Template, root: Path) -> TemplateMatch | None:
    meta = template.meta
    if not meta.detect and not meta.detect_all:
        return None  # never auto-detected (e.g. minimal)
    any_hits = [p for p in meta.detect if _exists(root, p)]
    if meta.detect and not any_hits:
        return None
    if not all(_exists(root, p) for p in meta.detect_all):
        return None
    extra = [p for p in meta.detect_extra if _exists(root, p)]
    total = len(any_hits) + 2 * len(meta.detect_all) + 0.5 * len(extra)
    return TemplateMatch(template, total, [*meta.detect_all, *any_hits, *extra])


def detect(root: Path, candidates: list[Template] | None = None) -> list[TemplateMatch]:
    """Every matching template, best first (deterministic)."""
    matches = [m for t in (candidates or builtins()) if (m := score(t, root))]
    return sorted(matches, key=lambda m: (-m.score, -len(m.template.meta.detect_all), m.template.name))


def pick(root: Path) -> TemplatePick:
    templates = builtins()
    matches = detect(root, templates)
    if not matches:
        fallback = next(t for t in templates if t.name == FALLBACK)
        return TemplatePick(fallback, f"no template matched this directory; using '{FALLBACK}' "
                                      f"(available: {', '.join(t.name for t in templates)})", [])
    best = matches[0]
    reason = f"picked '{best.template.name}' (matched {', '.join(best.matched)})"
    others = [f"{m.template.name} (score {m.score:g})" for m in matches[1:]]
    if others:
        reason += f" — score {best.score:g}, ahead of {', '.join(others)}"
    return TemplatePick(best.template, reason, matches)


# -- rendering ----------------------------------------------------------------------------------
def _python_verify_steps(root: Path) -> str:
    from tutti.config.python_project import verify_steps_toml

    return verify_steps_toml(root)


# variable name -> how to compute it for a repository (only computed when the body uses it)
VARIABLES: dict[str, Callable[[Path], str]] = {
    "project_name": lambda root: _plain_name(root.resolve().name),
    "python_verify_steps": _python_verify_steps,
    "node_verify_steps": lambda root: _checks().node_verify_steps(root),
    "minimal_verify_steps": lambda root: _checks().minimal_verify_steps(root),
}


def _plain_name(directory: str) -> str:
    """A directory name as a valid `[workspace] name` ("My Project (copy)" → "My-Project-copy")."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "-", directory).strip(".-") or "unnamed"


def _checks():
    from tutti.config import project_checks

    return project_checks


def toml_string_content(value: str) -> str:
    """`value` escaped for use inside a TOML basic string."""
    out = value.replace("\\", "\\\\").replace('"', '\\"')
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in out)


def render(template: Template, root: Path) -> str:
    """The tutti.toml text: tag line, then the body with template variables filled in."""
    used = {m.group(1) for m in _PLACEHOLDER.finditer(template.body)}
    values = {name: VARIABLES[name](root) for name in used if name in VARIABLES}

    def fill(match: re.Match) -> str:
        return values.get(match.group(1), match.group(0))

    body = _PLACEHOLDER.sub(fill, template.body)
    return f"# template: {template.meta.name} {template.meta.version}\n{body.lstrip(chr(10))}"

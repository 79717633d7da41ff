"""Rules of the `[[intake]]` tables and the `[github]` table, each with its key path and a fix."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from tutti.config import keypath

if TYPE_CHECKING:
    from tutti.config.models import TuttiConfig

REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
REQUIRED = {"linear": ("team", "set team = \"ENG\" (the Linear team key)"),
            "jira": ("project", "set project = \"PROJ\" (the Jira project key), or a jql query")}


def intake_problems(config: TuttiConfig) -> Iterator:
    from tutti.config.problems import Problem

    gh = config.github
    if gh.repo is not None and not REPO.match(gh.repo):
        yield Problem("github → repo", f"github.repo '{gh.repo}' is not owner/name",
                      "e.g. repo = \"acme/widgets\", or leave it out to use the origin remote")
    if gh.api_url is not None and not gh.api_url.startswith(("http://", "https://")):
        yield Problem("github → api_url", f"github.api_url '{gh.api_url}' is not an http(s) URL",
                      "e.g. https://ghe.example.com/api/v3 (GitHub Enterprise) or leave it out")
    seen: set[str] = set()
    for i, cfg in enumerate(config.intake, start=1):
        where = f"intake[{i}]"
        if not NAME.match(cfg.name or ""):
            yield Problem(keypath.join(where, "name"), f"intake[{i}] name '{cfg.name}' must be letters, digits, '_', '-' or '.'",
                          "name it e.g. \"issues\"")
        elif cfg.name in seen:
            yield Problem(keypath.join(where, "name"), f"duplicate intake name '{cfg.name}'", "give each [[intake]] its own name")
        seen.add(cfg.name)
        if cfg.lease_ttl_secs < 10:
            yield Problem(keypath.join(where, "lease_ttl_secs"), f"intake[{i}] lease_ttl_secs must be >= 10",
                          "the default is 1800 (30 minutes)")
        if cfg.kind == "github" and cfg.repo is not None and not REPO.match(cfg.repo):
            yield Problem(keypath.join(where, "repo"), f"intake[{i}] repo '{cfg.repo}' is not owner/name",
                          "e.g. repo = \"acme/widgets\", or leave it out to use the origin remote")
        required = REQUIRED.get(cfg.kind)
        if required and not getattr(cfg, required[0]) and not (cfg.kind == "jira" and cfg.jql):
            yield Problem(keypath.join(where, required[0]), f"intake[{i}] of kind {cfg.kind} needs '{required[0]}'", required[1])
        if cfg.kind == "webhook" and not (cfg.source or "").strip():
            yield Problem(keypath.join(where, "source"), f"intake[{i}] of kind webhook needs 'source'",
                          "set source = \"github\" (or \"*\" for every webhook source)")
        for n, label in enumerate(cfg.labels, start=1):
            if not label.strip():
                yield Problem(keypath.join(where, f"labels[{n}]"), f"intake[{i}] has an empty label", "remove the empty entry")

"""Cross-field rules of the `[loop]` table, each with its key path and a fix."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from tutti.config import keypath

if TYPE_CHECKING:
    from tutti.config.models import TuttiConfig

MAX_LANES = 64


def loop_problems(config: TuttiConfig) -> Iterator:
    from tutti.config.problems import Problem, listing

    loop = config.loop
    if loop is None:
        return
    workflows = {w.name for w in config.workflows}
    agents = {a.name for a in config.agents}
    if loop.workflow not in workflows:
        yield Problem(keypath.join("loop", "workflow"), f"loop references unknown workflow '{loop.workflow}'",
                      f"use one of the declared workflows: {listing(workflows)}")
    if loop.implementer not in agents:
        yield Problem(keypath.join("loop", "implementer"), f"loop implementer '{loop.implementer}' is not a declared agent",
                      f"name the [[agent]] each lane clones: {listing(agents)}")
    if "agent" in loop.reviewers and loop.reviewer not in agents:
        yield Problem(keypath.join("loop", "reviewer"), f"loop reviewer '{loop.reviewer}' is not a declared agent",
                      f"declare it, or drop \"agent\" from reviewers (declared: {listing(agents)})")
    if not 1 <= loop.lanes <= MAX_LANES:
        yield Problem(keypath.join("loop", "lanes"), f"loop lanes must be between 1 and {MAX_LANES}, got {loop.lanes}",
                      "lanes = 3 runs three items at once")
    if loop.max_review_rounds < 0:
        yield Problem(keypath.join("loop", "max_review_rounds"), "loop max_review_rounds must be >= 0",
                      "0 merges without a fix round; the default is 3")
    if loop.lease_ttl_secs is not None and loop.lease_ttl_secs < 2:
        yield Problem(keypath.join("loop", "lease_ttl_secs"), "loop lease_ttl_secs must be >= 2",
                      "leave it out to use the intake's lease_ttl_secs (1800 by default)")
    if loop.poll_secs <= 0:
        yield Problem(keypath.join("loop", "poll_secs"), "loop poll_secs must be > 0", "e.g. poll_secs = 10")
    if loop.pr and not loop.remote:
        yield Problem(keypath.join("loop", "pr"), "loop pr = true needs a remote to push branches to",
                      "set remote = \"origin\"")
    known = {c.name for c in getattr(config, "intake", None) or []}
    for n, name in enumerate(loop.intake, start=1):
        if name not in known:
            yield Problem(keypath.join("loop", f"intake[{n}]"), f"loop intake '{name}' is not a declared [[intake]]",
                          f"declared: {listing(known)}")
    mq = loop.merge_queue
    if mq.batch < 1:
        yield Problem(keypath.join("loop", "merge_queue", "batch"), "loop merge_queue batch must be >= 1",
                      "1 lands changes one at a time")
    for n, cmd in enumerate(mq.verify or [], start=1):
        if not cmd.strip():
            yield Problem(keypath.join("loop", "merge_queue", f"verify[{n}]"), "loop merge_queue verify has an empty command",
                          "remove the empty entry")

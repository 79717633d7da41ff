"""Add up a chaos report: `python tests/chaos/summary.py REPORT.jsonl` (see conftest.py)."""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict


def main(path: str) -> None:
    trials: Counter = Counter()
    totals: dict[str, Counter] = defaultdict(Counter)
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            key = (r["step_type"], r["mode"])
            trials[key] += 1
            for k in ("double_effects", "resent_prompts", "orphans", "event_problems", "adopted"):
                totals[k][key] += r.get(k, 0)
    print(f"{'step type':<18}{'kill mode':<10}{'trials':>7}{'double':>8}{'resent':>8}{'orphans':>9}{'events':>8}{'taken over':>11}")
    for key in sorted(trials):
        print(f"{key[0]:<18}{key[1]:<10}{trials[key]:>7}{totals['double_effects'][key]:>8}"
              f"{totals['resent_prompts'][key]:>8}{totals['orphans'][key]:>9}{totals['event_problems'][key]:>8}{totals['adopted'][key]:>11}")
    print(f"{'total':<28}{sum(trials.values()):>7}" + "".join(f"{sum(totals[k].values()):>{w}}" for k, w in (
        ("double_effects", 8), ("resent_prompts", 8), ("orphans", 9), ("event_problems", 8), ("adopted", 11))))


if __name__ == "__main__":
    main(sys.argv[1])

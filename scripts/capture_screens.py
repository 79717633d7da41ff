#!/usr/bin/env python3
"""Drive the real agent CLIs through every failure the scripted model server can produce and
record what they show (tests/fixtures/screens/captured/<cli>/<failure>_<position>.*).

    python scripts/capture_screens.py                      # the full sweep (~1 h, one CLI at a time)
    python scripts/capture_screens.py --cli codex --failure quota --position later
    python scripts/capture_screens.py --check              # re-classify the recorded captures offline

Needs the CLIs (scripts/install-agent-clis.sh) and tmux. Exits 1 if any capture is
misclassified; writes a table of detected state and latency to captured/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tutti.testing import screen_capture as sc

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "screens" / "captured"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cli", action="append", choices=sc.CLIS, help="only this CLI (repeatable)")
    p.add_argument("--failure", action="append", choices=list(sc.FAILURES), help="only this failure (repeatable)")
    p.add_argument("--position", action="append", choices=sc.POSITIONS, help="first or later turn")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where captures go")
    p.add_argument("--patience", type=float, default=sc.PATIENCE_SECS, help="seconds to wait for each state")
    p.add_argument("--check", action="store_true", help="only re-classify the recorded captures")
    args = p.parse_args(argv)
    if args.check:
        bad = sc.check_recorded(args.out, print)
        sc.write_results(args.out)
        return 1 if bad else 0
    with tempfile.TemporaryDirectory(prefix="tutti-capture-") as tmp:
        sweep = sc.Sweep(args.out, scratch=Path(tmp), patience=args.patience)
        try:
            caps = sweep.run(args.cli or sc.CLIS, args.failure or tuple(sc.FAILURES), args.position or sc.POSITIONS)
        finally:
            sweep.close()
    sc.write_results(args.out)
    bad = [c for c in caps if not c.ok]
    print(f"{len(caps) - len(bad)}/{len(caps)} captures classified as expected")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""Where the shared fixtures live (real agent screens, logs, tutti.toml files).

CI clones the repository with `shared/` beside it; developers have it at /work/shared.
`TUTTI_SHARED_DIR` overrides both. A missing directory is an error, never a silent skip.
"""

from __future__ import annotations

import os
from pathlib import Path


def _find_shared() -> Path:
    candidates = [Path(os.environ["TUTTI_SHARED_DIR"])] if os.environ.get("TUTTI_SHARED_DIR") else []
    candidates += [Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")]
    for candidate in candidates:
        if (candidate / "fixtures").is_dir():
            return candidate
    raise RuntimeError(f"shared fixtures not found in any of {[str(c) for c in candidates]}; "
                       "set TUTTI_SHARED_DIR to the shared/ directory")


SHARED = _find_shared()
FIXTURES = SHARED / "fixtures"

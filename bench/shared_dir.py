"""The shared fixtures directory for benchmarks: `TUTTI_SHARED_DIR`, else `shared/` beside the repo."""

import os
from pathlib import Path

SHARED = Path(os.environ.get("TUTTI_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")

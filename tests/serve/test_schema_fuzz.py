"""Schemathesis against the live server's /openapi.json: no generated request causes a 5xx."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from .live import load, serving, write_workspace


@pytest.mark.slow
def test_openapi_fuzz_finds_no_server_error(git_repo, tmux_socket, tmp_path):
    st = shutil.which("st") or shutil.which("schemathesis")
    if st is None:
        pytest.skip("schemathesis CLI not installed")
    ws = load(write_workspace(git_repo))  # agents run the fake CLI in this test's private tmux
    with serving([ws]) as url:
        proc = subprocess.run(
            [st, "run", f"{url}/openapi.json", "--checks", "not_a_server_error", "--max-examples", os.environ.get("TUTTI_FUZZ_EXAMPLES", "2"),
             "--exclude-path", "/v1/events/stream", "--request-timeout", "20", "--seed", "1",
             "--no-color", "--workers", "1"],
            capture_output=True, text=True, timeout=240, cwd=tmp_path, check=False,
        )
    sys.stdout.write(proc.stdout[-3000:])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    import re

    counts = re.search(r"(\d+) generated, (\d+) passed", proc.stdout)
    assert counts and int(counts.group(1)) > 100 and counts.group(1) == counts.group(2)

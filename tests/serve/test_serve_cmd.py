"""`tt serve` as a user runs it: a real process, real port, token handling."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from .live import write_workspace


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, headers: dict | None = None) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url + "/v1/health", headers=headers, timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_tt_serve_with_bearer_auth_prints_only_a_token_prefix(git_repo, tutti_home):
    (tutti_home / "config.toml").write_text('[serve]\nauth = "bearer"\n')
    write_workspace(git_repo)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tutti", "serve", "--port", str(port)], cwd=git_repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
                            start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_up(url).status_code == 401
        token = (tutti_home / "serve-token").read_text().strip()
        assert oct(os.stat(tutti_home / "serve-token").st_mode & 0o777) == "0o600"
        r = wait_up(url, {"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["ok"] is True
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert token[:6] in out and token not in out and token not in err
    assert str(tutti_home / "serve-token") in out
    assert f"http://127.0.0.1:{port}" in out


def test_tt_serve_defaults_to_loopback_without_auth(git_repo):
    write_workspace(git_repo)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tutti", "serve", "--port", str(port)], cwd=git_repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert wait_up(f"http://127.0.0.1:{port}").status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert "workspaces: demo" in out and "dashboard at /" in out


def test_busy_port_is_a_one_line_error(tt, git_repo):
    write_workspace(git_repo)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = tt("serve", "--port", str(port), cwd=git_repo, timeout=60)
    assert r.returncode == 2
    assert r.stderr.startswith(f"error[usage]: cannot listen on 127.0.0.1:{port}") and "Traceback" not in r.stderr


def test_port_zero_prints_the_chosen_port(git_repo):
    write_workspace(git_repo)
    proc = subprocess.Popen([sys.executable, "-m", "tutti", "serve", "--port", "0"], cwd=git_repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = proc.stdout.readline()
        port = int(line.split("http://127.0.0.1:")[1].split()[0])
        assert port not in (0, 4040)  # the OS chose it; not the [dashboard].port default
        assert wait_up(f"http://127.0.0.1:{port}").status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=20)


def test_unknown_workspace_name_is_a_one_line_error(tt, git_repo):
    r = tt("serve", "-w", "no-such-workspace", cwd=git_repo, timeout=60)
    assert r.returncode == 1 and r.stderr.startswith("error[not_found]: workspace 'no-such-workspace'")
    assert "Traceback" not in r.stderr


def test_serve_all_registered_workspaces_in_one_process(tmp_path, tutti_home):
    one, two = write_workspace(tmp_path / "one", "one"), write_workspace(tmp_path / "two", "two")
    (tutti_home / "config.toml").write_text(
        f'[[registered_workspace]]\nname = "one"\npath = "{one}"\n\n'
        f'[[registered_workspace]]\nname = "two"\npath = "{two}"\n')
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tutti", "serve", "--all", "--port", str(port)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_up(url).status_code == 200
        rows = httpx.get(url + "/v1/agents").json()["data"]
        assert sorted({r["workspace"] for r in rows}) == ["one", "two"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert "workspaces: one, two" in out, err

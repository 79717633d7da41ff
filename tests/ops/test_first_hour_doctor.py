"""Issue #11: `tt doctor` checks what a first verify needs — its commands exist in the project's
environment, the project imports from the checkout — and catches an unknown runtime in [roles]."""

from __future__ import annotations

import json
import subprocess
import sys


def doctor(tt, cwd) -> dict[str, dict]:
    res = tt("doctor", "--json", cwd=cwd)
    return {c["check"]: c for c in json.loads(res.stdout)["checks"]}


def test_unknown_runtime_in_roles_fails_the_config_check(tt, git_repo):
    # a role no agent uses yet: the config loads, but the typo must not pass
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "d"\n[roles]\nbuilder = "claude-cod"\n'
                                         '[[agent]]\nname = "a"\nruntime = "fake"\n')
    checks = doctor(tt, git_repo)
    assert checks["config"]["status"] == "fail"
    assert "[roles] builder = \"claude-cod\": unknown runtime 'claude-cod'" in checks["config"]["detail"]
    assert "fake" in checks["config"]["fix"]
    # a role an agent uses: the config check names the agent and the runtime, not a policy error
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "d"\n[roles]\nbuilder = "claude-cod"\n'
                                         '[[agent]]\nname = "a"\nrole = "builder"\n')
    checks = doctor(tt, git_repo)
    assert checks["config"]["status"] == "fail" and "unknown runtime 'claude-cod'" in checks["config"]["detail"]
    assert "launch policy" not in checks


def test_fake_runtime_is_listed_among_the_runtimes(tt, git_repo):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "d"\n[[agent]]\nname = "a"\nruntime = "nosuch"\n')
    assert "fake" in doctor(tt, git_repo)["config"]["fix"]


def test_missing_verify_command_and_module_fail(tt, git_repo):
    (git_repo / "tutti.toml").write_text(
        '[workspace]\nname = "d"\n[[workflow]]\nname = "verify"\n'
        '[[workflow.step]]\ntype = "command"\nrun = "no-such-tool-xyz --all && git status"\nfail_mode = "closed"\n'
        f'[[workflow.step]]\ntype = "command"\nrun = "{sys.executable} -m no_such_module_xyz -q"\nfail_mode = "closed"\n')
    check = doctor(tt, git_repo)["verify/commands"]
    assert check["status"] == "fail"
    assert "no-such-tool-xyz" in check["detail"] and "no_such_module_xyz" in check["detail"]
    assert "git" not in check["detail"].split("verify needs ")[1].split(", not found")[0].split(", ")


def test_project_that_imports_from_elsewhere_fails(tt, git_repo):
    # a src-layout package that is not installed into the project's venv: tests would not import it
    pkg = git_repo / "src" / "widgetlib"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (git_repo / "pyproject.toml").write_text('[project]\nname = "widgetlib"\nversion = "0"\n')
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(git_repo / ".venv")], check=True)
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "d"\n[[workflow]]\nname = "verify"\n'
                                         '[[workflow.step]]\ntype = "command"\nrun = "python -V"\nfail_mode = "closed"\n')
    check = doctor(tt, git_repo)["project/import widgetlib"]
    assert check["status"] == "fail" and "No module named 'widgetlib'" in check["detail"]
    assert "pip install -e ." in check["fix"]
    # flat layout: importable from the checkout itself → pass
    (git_repo / "src" / "widgetlib").rename(git_repo / "widgetlib")
    assert doctor(tt, git_repo)["project/import widgetlib"]["status"] == "pass"


def test_fresh_init_config_can_launch_and_says_how(tt, git_repo, tutti_home):
    (git_repo / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    (git_repo / "tests").mkdir()
    (git_repo / "tests" / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    res = tt("init", cwd=git_repo)
    assert res.returncode == 0, res.stderr
    assert 'Permissions: [launch] mode = "auto" (the default): added' in res.stdout
    rules = json.loads(tt("init", "--force", "--json", cwd=git_repo).stdout)["permissions"]
    assert rules["mode"] == "auto" and "already in" in rules["summary"]  # second init keeps the rules
    text = (tutti_home / "config.toml").read_text()
    assert '"python -m pytest"' in text or '"python3 -m pytest"' in text
    checks = doctor(tt, git_repo)
    assert checks["launch policy"]["status"] == "pass"
    assert checks["config"]["status"] == "pass" and checks["verify/commands"]["status"] == "pass"
    # and the rules really allow the generated verify command
    assert tt("permissions", "check", "python -m pytest -q", cwd=git_repo).returncode == 0

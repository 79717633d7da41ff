"""Unknown keys are warnings with a did-you-mean, never errors."""

from __future__ import annotations

from tests.config.conftest import BASE


def test_misspelled_step_key_suggests_the_real_one(load_text):
    loaded = load_text(BASE + '[[workflow]]\nname = "verify"\n[[workflow.step]]\ntype = "command"\nrun = "true"\n'
                              'timout_secs = 5\n')
    assert loaded.warnings == [
        "tutti.toml: unknown key 'workflow 'verify' → step 1 (command) → timout_secs' — did you mean 'timeout_secs'?"
    ] or loaded.warnings[0].endswith(
        "unknown key 'workflow 'verify' → step 1 (command) → timout_secs' — did you mean 'timeout_secs'?")
    assert loaded.config.workflows[0].steps[0].timeout_secs == 900


def test_unknown_keys_everywhere_are_reported_with_their_path(load_text):
    loaded = load_text('mystery = 1\n' + BASE.replace('name = "a"', 'name = "a"\nruntmie = "x"')
                       + '[defaults]\nworktre = false\n[observe]\ncolour = "blue"\n')
    text = "\n".join(loaded.warnings)
    assert "unknown key 'agent 'a' → runtmie' — did you mean 'runtime'?" in text
    assert "unknown key 'defaults → worktre' — did you mean 'worktree'?" in text
    assert "unknown key 'observe → colour' (ignored)" in text
    assert "unknown key 'mystery' (ignored)" in text


def test_env_vars_roles_and_ids_are_not_unknown_keys(load_text):
    loaded = load_text(BASE + '[workspace.env]\nGITHUB_USER = "me"\nANY_THING = "x"\n'
                              '[roles]\nwhatever = "codex"\n'
                              '[[workflow]]\nname = "w"\n[[workflow.step]]\nid = "ensure"\ntype = "ensure_running"\n'
                              'agent = "a"\n')
    assert loaded.warnings == []
    assert loaded.config.workspace.env.variables()["GITHUB_USER"] == "me"


def test_unknown_keys_never_fail_the_load(tt, tmp_path):
    (tmp_path / "tutti.toml").write_text('colour = "blue"\n' + BASE)
    result = tt("run", "--list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # the CLI prints each warning once, to stderr (stdout stays clean for --json consumers)
    assert result.stderr.count("warning: tutti.toml: unknown key 'colour' (ignored)") == 1
    assert "colour" not in result.stdout

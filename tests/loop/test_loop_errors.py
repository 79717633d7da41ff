"""User mistakes around `tt loop` are one clear line with a hint, never a traceback."""

from __future__ import annotations

from tests.loop.conftest import instant_workspace


def test_loop_without_a_loop_table_says_what_to_add(git_repo, tt):
    (git_repo / "tutti.toml").write_text('[workspace]\nname = "x"\n')
    res = tt("loop", "--once", cwd=git_repo)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert res.stderr.startswith("error[config]:") and "[loop]" in res.stderr and "hint:" in res.stderr


def test_loop_table_mistakes_name_their_key_path(git_repo, tt):
    (git_repo / "tutti.toml").write_text(
        '[workspace]\nname = "x"\n[[agent]]\nname = "implementer"\nruntime = "fake"\n'
        '[[workflow]]\nname = "build"\n[[workflow.step]]\ntype = "command"\nrun = "true"\n'
        '[loop]\nworkflow = "build"\nimplementer = "coder"\n')
    res = tt("loop", "--once", cwd=git_repo)
    assert res.returncode == 2 and "loop → implementer" in res.stderr and "coder" in res.stderr


def test_lanes_below_one_is_a_usage_error(git_repo, tt):
    instant_workspace(git_repo, lanes=1)
    res = tt("loop", "--once", "--lanes", "0", cwd=git_repo)
    assert res.returncode == 2 and "--lanes must be at least 1" in res.stderr


def test_loop_is_in_the_schema(git_repo, tt):
    import json

    schema = json.loads(tt("schema", cwd=git_repo).stdout)
    assert "loop" in schema["properties"]


def test_verify_commands_obey_the_permission_policy(git_repo, tt, tutti_home):
    import json

    from tests.loop.conftest import add_items, git

    root = instant_workspace(git_repo, lanes=1)
    toml = root / "tutti.toml"
    text = toml.read_text()
    start = text.index('run = "printf')
    end = text.index("\n", start)
    toml.write_text(text[:start] + 'run = "touch mod_{{item.id}}.txt && git add -A && git commit -qm {{item.title}}"'
                    + text[end:])
    (tutti_home / "config.toml").write_text('[permissions]\nallow = ["touch", "git add", "git commit"]\n')
    tip = git(root, "rev-parse", "main").strip()
    add_items(root, ["add a note"])
    res = tt("loop", "--once", "--json", cwd=root, timeout=120)
    assert res.returncode == 1
    [item] = json.loads(res.stdout)["items"]
    assert item["status"] == "failed" and "blocked by permissions policy" in item["message"]
    assert "python3 check.py" in item["message"]
    assert git(root, "rev-parse", "main").strip() == tip

"""Built-in tools: confined to the agent root, shell with timeout/group kill/size limits."""

from __future__ import annotations

import os
import time

import pytest

from tutti.direct.tools import MAX_OUTPUT_CHARS, ToolBox


@pytest.fixture
def box(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("def greet():\n    return 'helo'\n\n\nprint(greet())\n")
    (tmp_path / "secret.txt").write_text("top secret")
    return ToolBox(root, shell_timeout_secs=10)


def test_read_file_with_offset_and_limit(box):
    assert (
        box.execute("read_file", {"path": "src/app.py", "offset": 2, "limit": 1}).content
        == "    return 'helo'\n"
    )


@pytest.mark.parametrize("path", ["../secret.txt", "/etc/passwd", "src/../../secret.txt"])
def test_paths_outside_the_root_are_refused(box, path):
    out = box.execute("read_file", {"path": path})
    assert out.is_error and "outside the agent root" in out.content


def test_symlinks_out_of_the_root_are_refused_for_reads_and_writes(box, tmp_path):
    os.symlink(tmp_path / "secret.txt", box.root / "alias.txt")
    os.symlink(tmp_path, box.root / "up")
    assert "symlink" in box.execute("read_file", {"path": "alias.txt"}).content
    out = box.execute("write_file", {"path": "up/new.txt", "content": "x"})
    assert out.is_error and not (tmp_path / "new.txt").exists()
    assert box.escape_reason("write_file", {"path": "up/new.txt"})
    assert box.escape_reason("write_file", {"path": "src/ok.txt"}) is None


def test_write_file_is_atomic_and_creates_directories(box):
    out = box.execute("write_file", {"path": "docs/notes.md", "content": "hello\n"})
    assert not out.is_error and out.files_changed == ["docs/notes.md"]
    assert (box.root / "docs" / "notes.md").read_text() == "hello\n"


def test_apply_patch_applies_a_unified_diff_with_drift(box):
    patch = (
        "--- a/src/app.py\n+++ b/src/app.py\n@@ -3,2 +3,2 @@\n def greet():\n-    return 'helo'\n"
        "+    return 'hello'\n"
    )  # stated at line 3, really at line 1
    out = box.execute("apply_patch", {"patch": patch})
    assert not out.is_error, out.content
    assert "return 'hello'" in (box.root / "src" / "app.py").read_text()


def test_apply_patch_is_all_or_nothing(box):
    patch = (
        "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+new\n"
        "--- a/src/app.py\n+++ b/src/app.py\n@@ -1,1 +1,1 @@\n-def nothing_like_this():\n+x\n"
    )
    out = box.execute("apply_patch", {"patch": patch})
    assert out.is_error and "does not apply" in out.content
    assert not (box.root / "new.txt").exists()


def test_apply_patch_creates_and_deletes_files(box):
    patch = (
        "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n"
        "--- a/src/app.py\n+++ /dev/null\n@@ -1,5 +0,0 @@\n-def greet():\n-    return 'helo'\n-\n-\n"
        "-print(greet())\n"
    )
    out = box.execute("apply_patch", {"patch": patch})
    assert not out.is_error, out.content
    assert (box.root / "new.txt").read_text() == "a\nb\n" and not (box.root / "src" / "app.py").exists()


def test_shell_runs_in_the_root_and_reports_exit_code(box):
    out = box.execute("shell", {"command": "pwd; echo oops >&2; exit 4"})
    assert out.is_error and out.content.startswith("exit code 4")
    assert str(box.root) in out.content and "oops" in out.content


def test_shell_timeout_kills_the_whole_process_group(box, tmp_path):
    pidfile = tmp_path / "child.pid"
    started = time.monotonic()
    out = box.execute("shell", {"command": f"sleep 60 & echo $! > {pidfile}; wait", "timeout_secs": 1})
    assert out.is_error and "timed out" in out.content
    assert time.monotonic() - started < 15
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("background child survived the timeout")


def test_shell_output_is_limited(box):
    out = box.execute("shell", {"command": "yes abcdefghij | head -c 500000", "timeout_secs": 120})
    summary = (len(out.content), out.content[:200], out.content[-200:])
    assert "characters omitted" in out.content, summary
    assert len(out.content) < MAX_OUTPUT_CHARS + 1000, summary


def test_shell_does_not_see_provider_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_PROVIDER_KEY", "sk-hidden")
    box = ToolBox(tmp_path, hidden_env={"MY_PROVIDER_KEY"})
    assert "sk-hidden" not in box.execute("shell", {"command": "env"}).content


def test_grep_and_glob_stay_inside(box):
    assert box.execute("grep", {"pattern": "helo"}).content == "src/app.py:2:     return 'helo'"
    assert box.execute("glob", {"pattern": "**/*.py"}).content == "src/app.py"
    assert box.execute("glob", {"pattern": "../*"}).is_error
    assert box.execute("grep", {"pattern": "("}).is_error


def test_bad_arguments_are_tool_errors_not_exceptions(box):
    assert "missing required argument `path`" in box.execute("read_file", {}).content
    assert box.execute("nope", {}).is_error
    assert "not a JSON object" in box.execute("read_file", {"__invalid_json__": "{oops"}).content


@pytest.mark.parametrize("path", [".git/hooks/pre-commit", ".tutti/tutti.db"])
def test_file_tools_never_modify_git_or_tutti_state(box, path):
    (box.root / path).parent.mkdir(parents=True)
    out = box.execute("write_file", {"path": path, "content": "#!/bin/sh\nevil\n"})
    assert out.is_error and "may not modify" in out.content and not (box.root / path).exists()
    assert box.escape_reason("write_file", {"path": path})
    assert box.escape_reason("read_file", {"path": path}) is None  # reading is fine


def test_filesystem_errors_are_tool_errors(box):
    (box.root / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    patch = "--- a/latin1.txt\n+++ b/latin1.txt\n@@ -1 +1 @@\n-cafe\n+coffee\n"
    out = box.execute("apply_patch", {"patch": patch})
    assert out.is_error and "UnicodeDecodeError" in out.content

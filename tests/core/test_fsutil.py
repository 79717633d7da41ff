import os
import stat

from tutti.fsutil import write_json_atomic, write_text_atomic


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_gets_the_mode_open_would_give(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    target = tmp_path / "tutti.toml"
    write_text_atomic(target, "x = 1\n")
    assert target.read_text() == "x = 1\n"
    assert _mode(target) == 0o666 & ~umask  # not mkstemp's 0600: tutti.toml is a shared, versioned file


def test_rewriting_a_file_keeps_its_mode(tmp_path):
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    write_text_atomic(script, "#!/bin/sh\necho hi\n")
    assert _mode(script) == 0o755 and "echo hi" in script.read_text()


def test_an_explicit_mode_wins_and_no_temp_file_is_left(tmp_path):
    secret = tmp_path / "serve-token"
    write_text_atomic(secret, "abc\n", mode=0o600)
    write_json_atomic(tmp_path / "a.json", {"k": 1}, mode=0o640)
    assert _mode(secret) == 0o600 and _mode(tmp_path / "a.json") == 0o640
    write_text_atomic(tmp_path / "mirror.json", "{}\n", durable=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "mirror.json", "serve-token"]

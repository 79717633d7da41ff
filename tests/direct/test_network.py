"""Air-gapped analysis judges parsed commands, not string prefixes."""

from __future__ import annotations

import pytest

from tutti.direct.network import check_command


@pytest.mark.parametrize(
    "command",
    [
        "curl https://example.com",
        "/usr/bin/wget -q x",
        'bash -c "curl x"',
        "sh -lc 'echo a; ssh host ls'",
        "env A=1 bash -c 'bash -c \"nc -z h 22\"'",
        "python3 -c 'import urllib.request as u; u.urlopen(\"http://x\")'",
        "python -c 'import socket; socket.create_connection((\"h\", 80))'",
        "node -e \"fetch('http://x').then(console.log)\"",
        "perl -e 'use IO::Socket; 1'",
        "echo $(curl -s x)",
        "echo `wget -qO- x`",
        "true && git -C repo fetch origin",
        "ls | xargs -n1 curl",
        "FOO=bar sudo -u me rsync -a . host:/x",
        "timeout 5 telnet host 25",
        "cat < /dev/tcp/10.0.0.1/80",
        "pip install requests",
        "python3 -m pip install x",
        "echo ok\nscp a host:b",
        "eval 'curl x'",
        "python3 <<'EOF'\nimport urllib.request\nurllib.request.urlopen('http://x')\nEOF",
        "bash <<EOF\ncurl x\nEOF",
        "echo 'curl x' | sh",
        "printf 'import socket' | python3",
        "node <<EOF\nfetch('http://x')\nEOF",
    ],
)
def test_network_commands_are_detected(command):
    assert check_command(command).network, command


@pytest.mark.parametrize(
    "command",
    [
        "pytest -q",
        "python -m pytest tests",
        "echo curl is a word here",
        "grep -r wget src/",
        "git status && git diff --stat",
        "python -c 'print(1 + 1)'",
        "node -e 'console.log(1)'",
        "ls -la | sort",
        "echo 'a; curl x'",
        "cat > notes.txt <<EOF\ncurl is only text in a here-document\nEOF",
        "echo curl | cat",
    ],
)
def test_local_commands_pass(command):
    assert not check_command(command).network, command

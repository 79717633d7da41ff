"""Does a shell command line reach the network? Decided on the *parsed* command, not prefixes.

The line is tokenised like a POSIX shell (quotes, `;`, `&&`, `||`, `|`, `&`, newlines,
subshells, `$(…)` and backticks), split into simple commands, and each one is judged after
skipping variable assignments and wrappers (`sudo`, `env`, `timeout 5`, `nohup`, `xargs` …).
Shell payloads (`bash -c "…"`, `sh -lc`, `eval`) are analysed recursively; interpreter one-
liners (`python -c`, `node -e`, `perl -e`, `ruby -e`) are judged on the network APIs their code
mentions. Running a script file (`python fetch.py`) cannot be judged and is allowed.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

NETWORK_BINARIES = {
    "curl",
    "wget",
    "ssh",
    "scp",
    "sftp",
    "nc",
    "ncat",
    "netcat",
    "rsync",
    "ftp",
    "lftp",
    "telnet",
    "socat",
    "aria2c",
    "http",
    "https",
    "xh",
    "mosh",
    "ping",
    "dig",
    "nslookup",
    "host",
    "whois",
    "gh",
    "svn",
}
# binary -> subcommands that download or upload
NETWORK_SUBCOMMANDS = {
    "git": {
        "push",
        "fetch",
        "clone",
        "pull",
        "ls-remote",
        "remote",
        "submodule",
        "send-email",
        "request-pull",
    },
    "pip": {"install", "download", "search"},
    "pip3": {"install", "download", "search"},
    "uv": {"pip", "add", "sync", "lock", "tool"},
    "poetry": {"install", "add", "update", "publish"},
    "npm": {"install", "i", "ci", "add", "publish", "update", "view", "exec"},
    "npx": None,
    "pnpm": {"install", "i", "add", "update", "publish", "dlx"},
    "yarn": {"install", "add", "upgrade", "publish", "dlx"},
    "apt": {"install", "update", "upgrade", "download"},
    "apt-get": {"install", "update", "upgrade", "download"},
    "cargo": {"install", "publish", "fetch", "update", "search"},
    "go": {"get", "install", "mod"},
    "gem": {"install", "update", "push", "fetch"},
    "docker": {"pull", "push", "login", "build", "run"},
    "brew": {"install", "update", "upgrade", "fetch"},
}
SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish", "ash", "busybox"}
WRAPPERS = {
    "sudo",
    "doas",
    "nohup",
    "time",
    "nice",
    "ionice",
    "command",
    "exec",
    "builtin",
    "stdbuf",
    "setsid",
    "unbuffer",
    "chronic",
    "caffeinate",
    "xargs",
    "env",
    "timeout",
    "watch",
    "strace",
    "torsocks",
}
# options of wrappers that take a value (so the value is not mistaken for the command)
_WRAPPER_VALUE_OPTS = {
    "-u",
    "-g",
    "-n",
    "-c",
    "-C",
    "-s",
    "-k",
    "-i",
    "-o",
    "-e",
    "-I",
    "-L",
    "-P",
    "-d",
    "-S",
}
PYTHON_NET = re.compile(
    r"\b(urllib\d?|requests|http\.client|httpx|aiohttp|socket|ftplib|smtplib|telnetlib|"
    r"paramiko|websockets?|xmlrpc\.client|pycurl)\b|from\s+http\s+import|import\s+http\b"
)
NODE_NET = re.compile(
    r"\b(https?|net|dgram|tls|axios|undici|node-fetch)\b|fetch\s*\(|XMLHttpRequest|WebSocket"
)
PERL_RUBY_NET = re.compile(
    r"\b(IO::Socket|LWP|HTTP::Tiny|Net::HTTP|Net::FTP|open-uri|Socket|TCPSocket|"
    r"URI\.open|Net::SSH)\b"
)
_PUNCT = {";", "&&", "||", "|", "&", "|&", ";;", "(", ")", "\n", "((", "))"}
_MAX_DEPTH = 8


@dataclass
class NetworkVerdict:
    network: bool
    reason: str = ""
    command: str = ""


def _split(line: str) -> list[tuple[list[str], str]]:
    """Simple commands of a line, each with the operator that precedes it ('' first)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:
        # Unbalanced quotes: the shell would refuse it too; fall back to whitespace words.
        tokens = line.split()
    commands: list[tuple[list[str], str]] = [([], "")]
    for token in tokens:
        if token and (token in _PUNCT or set(token) <= set(";&|()\n")):
            commands.append(([], token))
            continue
        commands[-1][0].append(token)
    return [(words, sep) for words, sep in commands if words]


def split_simple_commands(line: str) -> list[list[str]]:
    """Tokenise a command line into simple commands (lists of words)."""
    return [words for words, _ in _split(line)]


_HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


def _split_heredocs(line: str) -> tuple[str, list[tuple[str, str]]]:
    """The line without here-document bodies, and each body with the text that opened it."""
    lines = line.split("\n")
    kept: list[str] = []
    docs: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        current = lines[i]
        kept.append(current)
        i += 1
        for m in _HEREDOC.finditer(current):
            body: list[str] = []
            while i < len(lines) and (lines[i].lstrip("\t") if m.group(1) else lines[i]) != m.group(3):
                body.append(lines[i])
                i += 1
            i += 1  # the delimiter line
            docs.append((current[: m.start()], "\n".join(body)))
    return "\n".join(kept), docs


def _command_substitutions(line: str) -> list[str]:
    found = re.findall(r"`([^`]*)`", line)
    # $( … ) with one level of nesting is enough to catch `echo $(curl …)`.
    found += re.findall(r"\$\(((?:[^()]|\([^()]*\))*)\)", line)
    return found


def check_command(line: str, depth: int = 0) -> NetworkVerdict:
    if depth > _MAX_DEPTH:
        return NetworkVerdict(True, "command nesting too deep to analyse", line)
    if re.search(r"/dev/(tcp|udp)/", line):
        return NetworkVerdict(True, "uses /dev/tcp or /dev/udp sockets", line)
    line, heredocs = _split_heredocs(line)
    for opener, body in heredocs:
        # `python3 <<EOF … EOF`, `bash <<'X' … X`: the body is the program's input.
        commands = split_simple_commands(opener)
        verdict = _check_stdin(commands[-1], body, depth) if commands else NetworkVerdict(False)
        if verdict.network:
            return verdict
    for inner in _command_substitutions(line):
        verdict = check_command(inner, depth + 1)
        if verdict.network:
            return verdict
    previous: list[str] = []
    for words, sep in _split(line):
        verdict = _check_simple(words, depth)
        if not verdict.network and sep == "|":
            # `echo 'curl x' | sh`, `printf 'import socket' | python3`
            feeder = _strip_prefix(previous)
            if feeder and feeder[0].rsplit("/", 1)[-1] in ("echo", "printf"):
                verdict = _check_stdin(words, " ".join(a for a in feeder[1:] if not a.startswith("-")), depth)
        if verdict.network:
            return verdict
        previous = words
    return NetworkVerdict(False)


def _check_stdin(words: list[str], text: str, depth: int) -> NetworkVerdict:
    """A program that reads `text` on standard input: a shell runs it, interpreters execute it."""
    words = _strip_prefix(words)
    if not words:
        return NetworkVerdict(False)
    program = words[0].rsplit("/", 1)[-1]
    if program in SHELLS:
        return check_command(text, depth + 1)
    checks = [
        (r"^(python|pypy)(\d+(\.\d+)?)?$", PYTHON_NET),
        (r"^(node|nodejs|deno|bun)$", NODE_NET),
        (r"^(perl|ruby)$", PERL_RUBY_NET),
    ]
    for pattern, regex in checks:
        if re.match(pattern, program):
            hit = regex.search(text)
            if hit:
                return NetworkVerdict(
                    True,
                    f"{program} reads code from stdin that uses {hit.group(0)}",
                    f"{' '.join(words)} <<< {text[:80]}",
                )
    return NetworkVerdict(False)


def _strip_prefix(words: list[str]) -> list[str]:
    """Drop assignments, redirections and wrapper commands before the real program."""
    i = 0
    while i < len(words):
        w = words[i]
        if (
            re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)
            or any(c in w for c in "<>")
            and set(w) <= set("<>&0123456789")
        ):
            i += 2 if any(c in w for c in "<>") else 1
            continue
        name = w.rsplit("/", 1)[-1]
        if name in WRAPPERS:
            i += 1
            while i < len(words) and words[i].startswith("-"):
                opt = words[i]
                i += 2 if opt in _WRAPPER_VALUE_OPTS else 1
            if name == "timeout" and i < len(words) and re.match(r"^\d+(\.\d+)?[smhd]?$", words[i]):
                i += 1
            continue
        break
    return words[i:]


def _check_simple(words: list[str], depth: int) -> NetworkVerdict:
    words = _strip_prefix(words)
    if not words:
        return NetworkVerdict(False)
    program = words[0].rsplit("/", 1)[-1]
    text = " ".join(words)
    if program in NETWORK_BINARIES:
        return NetworkVerdict(True, f"'{program}' is a network command", text)
    if program in NETWORK_SUBCOMMANDS:
        subs = NETWORK_SUBCOMMANDS[program]
        sub = _subcommand(words[1:], program)
        if subs is None or (sub is not None and sub in subs):
            return NetworkVerdict(
                True, f"'{program} {sub or ''}'".replace(" '", "'") + " reaches the network", text
            )
    if program in SHELLS or program == "eval":
        payload = (
            _flag_payload(words[1:], ("-c",), combined=True) if program != "eval" else " ".join(words[1:])
        )
        if payload is not None:
            return check_command(payload, depth + 1)
    if re.match(r"^(python|pypy)(\d+(\.\d+)?)?$", program):
        module = _flag_payload(words[1:], ("-m",))
        if module is not None and module.split(".")[0] in (
            "pip",
            "http",
            "urllib",
            "ensurepip",
            "ftplib",
            "smtplib",
        ):
            return NetworkVerdict(True, f"'python -m {module}' reaches the network", text)
        code = _flag_payload(words[1:], ("-c",), combined=True)
        if code is not None and PYTHON_NET.search(code):
            return NetworkVerdict(True, f"python -c code uses {PYTHON_NET.search(code).group(0)}", text)
    if program in ("node", "nodejs", "deno", "bun"):
        code = _flag_payload(words[1:], ("-e", "--eval", "-p", "--print"))
        if code is not None and NODE_NET.search(code):
            return NetworkVerdict(True, f"{program} -e code uses {NODE_NET.search(code).group(0)}", text)
    if program in ("perl", "ruby"):
        code = _flag_payload(words[1:], ("-e", "-E"), combined=True)
        if code is not None and PERL_RUBY_NET.search(code):
            return NetworkVerdict(True, f"{program} -e code uses {PERL_RUBY_NET.search(code).group(0)}", text)
    return NetworkVerdict(False)


def _subcommand(args: list[str], program: str) -> str | None:
    i = 0
    while i < len(args):
        a = args[i]
        if program == "git" and a in ("-C", "-c", "--git-dir", "--work-tree", "--namespace"):
            i += 2
            continue
        if a.startswith("-"):
            i += 1
            continue
        return a
    return None


def _flag_payload(args: list[str], flags: tuple[str, ...], *, combined: bool = False) -> str | None:
    """The argument following a flag like -c, also for combined short flags (`-lc`, `-ec`)."""
    for i, a in enumerate(args):
        hit = a in flags or any(a.startswith(f + "=") for f in flags if f.startswith("--"))
        if not hit and combined and re.match(r"^-[A-Za-z]+$", a):
            hit = any(f.lstrip("-") in a[1:] for f in flags if len(f) == 2)
        if hit:
            if "=" in a and a.startswith("--"):
                return a.split("=", 1)[1]
            return args[i + 1] if i + 1 < len(args) else ""
        if not a.startswith("-"):
            # python script.py -c …: flags after the script belong to the script
            return None
    return None

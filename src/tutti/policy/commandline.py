"""Split a shell command line into the simple commands it would run.

The original matched allow rules against the whole line by prefix, so `git status && rm -rf x`
passed under the rule `git status` (inventory §9.4, §12.9). Here every simple command is
checked on its own: the line is split on `&&`, `||`, `;`, `|`, `|&`, `&` and newlines, and the
insides of `$(…)`, `` `…` ``, `<(…)`, `>(…)` and `( … )` subshells are commands too — also
inside double quotes, where the shell still runs them. Single-quoted text is literal, so
`echo 'a; b'` is one command.
"""

from __future__ import annotations


class UnparseableCommand(ValueError):
    """Unbalanced quotes or substitutions: the line cannot be checked, so it is refused."""


def split_commands(line: str) -> list[str]:
    """Simple commands of `line`, whitespace-collapsed, outer commands before inner ones."""
    scanner = _Scanner(line)
    outer = scanner.scan(0, None)[0]
    return [c for c in outer + scanner.inner if c]


def normalize(command: str) -> str:
    return " ".join(command.split())


class _Scanner:
    def __init__(self, text: str) -> None:
        self.s = text
        self.inner: list[str] = []  # commands found inside substitutions/subshells

    def scan(self, i: int, end: str | None) -> tuple[list[str], int]:
        """Scan from `i` until `end` (')' or '`', None = end of text). Returns (commands, index
        after the terminator)."""
        s = self.s
        cmds: list[str] = []
        cur: list[str] = []

        def flush() -> None:
            text = normalize("".join(cur))
            if text:
                cmds.append(text)
            cur.clear()

        while i < len(s):
            ch = s[i]
            if end is not None and ch == end:
                flush()
                return cmds, i + 1
            if ch == ")" and end is None:
                raise UnparseableCommand("unbalanced ')'")
            nxt = self._word_part(i, cur)
            if nxt is None:
                nxt = self._separator(i, cur, flush)
            if nxt is None:
                cur.append(ch)
                nxt = i + 1
            i = nxt
        if end is not None:
            raise UnparseableCommand(f"unterminated {'backtick' if end == '`' else '$(' }")
        flush()
        return cmds, i

    def _word_part(self, i: int, cur: list[str]) -> int | None:
        """Escapes, quotes, substitutions, subshells and comments at `i`: the index after them
        (appended to `cur` where they are part of the word), or None when `s[i]` is none of them."""
        s, ch = self.s, self.s[i]
        if ch == "\\":
            cur.append(s[i:i + 2])
            return i + 2
        if ch == "'":
            j = s.find("'", i + 1)
            if j < 0:
                raise UnparseableCommand("unterminated single quote")
            cur.append(s[i:j + 1])
            return j + 1
        if ch == '"':
            return self._double_quoted(i, cur)
        if ch == "`" or s.startswith("$(", i) or s.startswith("<(", i) or s.startswith(">(", i):
            return self._substitution(i, cur)
        if ch == "(" and not "".join(cur).strip():
            inner, i = self.scan(i + 1, ")")  # ( a; b ) subshell at a command start
            self.inner.extend(inner)
            return i
        if ch == "#" and (not cur or cur[-1][-1:].isspace()):
            nl = s.find("\n", i)
            return len(s) if nl < 0 else nl
        return None

    def _separator(self, i: int, cur: list[str], flush) -> int | None:
        """Command separators (`;`, newline, `|`, `||`, `|&`, `&`, `&&`) and group braces at `i`:
        the index after them (the current command flushed), or None when `s[i]` is none of them."""
        s, ch = self.s, self.s[i]
        if ch in ";\n":
            flush()
            return i + 1
        if ch == "|":
            flush()
            return i + (2 if s.startswith(("||", "|&"), i) else 1)
        if ch == "&":
            prev = "".join(cur).rstrip()[-1:] if cur else ""
            if prev in (">", "<") or s.startswith("&>", i):
                cur.append(ch)  # 2>&1, &> file: a redirection, not a separator
                return i + 1
            flush()
            return i + (2 if s.startswith("&&", i) else 1)
        if ch in "{}" and not "".join(cur).strip() and (i + 1 >= len(s) or s[i + 1].isspace()):
            return i + 1  # { a; b; } group braces
        return None

    def _double_quoted(self, i: int, cur: list[str]) -> int:
        s = self.s
        j = i + 1
        cur.append('"')
        while j < len(s):
            ch = s[j]
            if ch == "\\":
                cur.append(s[j:j + 2])
                j += 2
                continue
            if ch == '"':
                cur.append('"')
                return j + 1
            if ch == "`" or s.startswith("$(", j):
                j = self._substitution(j, cur)
                continue
            cur.append(ch)
            j += 1
        raise UnparseableCommand("unterminated double quote")

    def _substitution(self, i: int, cur: list[str]) -> int:
        s = self.s
        if s[i] == "`":
            inner, j = self.scan(i + 1, "`")
        else:
            inner, j = self.scan(i + 2, ")")
        self.inner.extend(inner)
        cur.append(s[i:j])
        return j

"""How the fake agent's screen looks, per imitated runtime.

Each look produces plain lines modelled on the real captures in shared/fixtures/screens/real,
close enough that Tutti's classifier for that runtime reads the right state — which is the
point: tests exercise the same detection code that watches a real CLI.
"""

from __future__ import annotations

from dataclasses import dataclass

BRAILLE = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
STARS = "·✢✳✶✻✽"
# Every look keeps this marker in its always-visible chrome, so the `fake` adapter knows which
# runtime's classifier reads the screen even when the look was picked by an agent's env.
MARK = "fake:"
VERBS = ("Thinking", "Pondering", "Brewing", "Noodling", "Crafting")


@dataclass
class View:
    """What the agent is doing right now; a look turns it into screen lines."""

    cwd: str
    cols: int
    state: str = "idle"  # idle | working | waiting
    input: str = ""
    elapsed: float = 0.0
    frame: int = 0
    dialog_path: str = ""
    bypass: bool = False
    context_left: int = 100


def prompt_summary(prompt: str) -> str:
    lines = prompt.split("\n")
    first = lines[0]
    return first if len(lines) == 1 else f"{first} … (+{len(lines) - 1} lines)"


def input_summary(text: str, n_paste: int) -> str:
    lines = text.split("\n")
    if len(lines) > 1:
        return f"[Pasted text #{n_paste} +{len(lines) - 1} lines]"
    return text


class Look:
    name = "base"

    def banner(self, v: View) -> list[str]:
        return []

    def echo(self, prompt: str) -> list[str]:
        return [f"> {prompt_summary(prompt)}", ""]

    def answer(self, text: str, secs: float) -> list[str]:
        return [*text.split("\n"), ""]

    def error(self, kind: str) -> list[str]:
        return [ERRORS[self.name][kind], ""]

    def declined(self, path: str) -> list[str]:
        return [f"User declined the change to {path}.", ""]

    def live(self, v: View) -> list[str]:
        """Lines between the transcript and the composer (status, dialog)."""
        return []

    def composer(self, v: View) -> list[str]:
        return []


ERRORS = {
    "claude": {
        "auth": '  ⎿  API Error: 401 {"type":"error","error":{"type":"authentication_error","message":'
                '"invalid x-api-key"}} · Please run /login',
        "rate_limit": "● API Error: Request rejected (429) · Rate limit exceeded (fake agent)",
        "provider_down": '● API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
        "crash": "● Error: the fake agent crashed (scripted)",
    },
    "codex": {
        "auth": "■ unexpected status 401 Unauthorized: Incorrect API key provided: sk-fake***.",
        "rate_limit": "■ exceeded retry limit, last status: 429 Too Many Requests",
        "provider_down": "■ unexpected status 503 Service Unavailable: upstream connect error",
        "crash": "■ error: the fake agent crashed (scripted)",
    },
    "gemini": {
        "auth": '✕ [API Error: {"error":{"code":400,"message":"API key not valid. Please pass a valid API key.",'
                '"status":"INVALID_ARGUMENT"}}]',
        "rate_limit": '✕ [API Error: {"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).",'
                      '"status":"RESOURCE_EXHAUSTED"}}]',
        "provider_down": '✕ [API Error: {"error":{"code":503,"message":"The model is overloaded. Please try again later.",'
                         '"status":"UNAVAILABLE"}}]',
        "crash": "✕ Error: the fake agent crashed (scripted)",
    },
    "aider": {
        "auth": "litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect API key provided: sk-fake***.\n"
                "The API provider is not able to authenticate you. Check your API key.",
        "rate_limit": "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit exceeded (fake agent)\n"
                      "The API provider has rate limited you. Try again later or check your quotas.",
        "provider_down": "litellm.ServiceUnavailableError: ServiceUnavailableError: OpenAIException - 503 Service Unavailable\n"
                         "The API provider's servers are down or overloaded.",
        "crash": "Error: the fake agent crashed (scripted)",
    },
}


def _rule(v: View, ch: str = "─") -> str:
    return ch * max(10, v.cols)


class ClaudeLook(Look):
    name = "claude"

    def banner(self, v: View) -> list[str]:
        width = min(max(v.cols, 40), 100)
        title = f"─── Claude Code (tutti fake agent, {MARK}claude) "
        inner = width - 2
        body = ["Welcome back!", "fake-model · no tokens spent", v.cwd]
        return [f"╭{title}{'─' * max(0, inner - len(title))}╮",
                *[f"│ {t[:inner - 2]:<{inner - 2}} │" for t in body],
                f"╰{'─' * inner}╯", ""]

    def echo(self, prompt: str) -> list[str]:
        return [f"❯ {prompt_summary(prompt)}", ""]

    def answer(self, text: str, secs: float) -> list[str]:
        lines = text.split("\n")
        return [f"● {lines[0]}", *[f"  {ln}" for ln in lines[1:]], "", f"✻ Worked for {int(secs)}s", ""]

    def error(self, kind: str) -> list[str]:
        return [ERRORS["claude"][kind], ""]

    def declined(self, path: str) -> list[str]:
        return [f"  ⎿  User rejected write to {path}", ""]

    def live(self, v: View) -> list[str]:
        if v.state == "working":
            verb = VERBS[(int(v.elapsed) // 4) % len(VERBS)]
            return [f"{STARS[v.frame % len(STARS)]} {verb}… ({int(v.elapsed)}s · ↓ {12 * int(v.elapsed) + 3} tokens)", ""]
        if v.state == "waiting":
            return [_rule(v), " Create file", f" {v.dialog_path}", "",
                    f" Do you want to create {v.dialog_path}?", " ❯ 1. Yes", "   2. No", "",
                    f" Esc to cancel · Tab to amend · {MARK}claude"]
        return []

    def composer(self, v: View) -> list[str]:
        if v.state == "waiting":
            return []
        if v.state == "working":
            footer = "  esc to interrupt"
        elif v.bypass:
            footer = "  ⏵⏵ bypass permissions on (shift+tab to cycle)"
        else:
            footer = "  ? for shortcuts"
        return [_rule(v), f"❯ {v.input}", _rule(v), f"{footer} · {MARK}claude"]


class CodexLook(Look):
    name = "codex"

    def banner(self, v: View) -> list[str]:
        return [f"  >_ OpenAI Codex (tutti fake agent, {MARK}codex)", f"     {v.cwd}", ""]

    def echo(self, prompt: str) -> list[str]:
        return [f"› {prompt_summary(prompt)}", ""]

    def answer(self, text: str, secs: float) -> list[str]:
        lines = text.split("\n")
        return [f"• {lines[0]}", *[f"  {ln}" for ln in lines[1:]], "", f"  Worked for {int(secs)}s", ""]

    def error(self, kind: str) -> list[str]:
        return [ERRORS["codex"][kind], ""]

    def declined(self, path: str) -> list[str]:
        return [f"• Edit to {path} rejected by user", ""]

    def live(self, v: View) -> list[str]:
        if v.state == "working":
            return [f"• Working ({int(v.elapsed)}s • esc to interrupt)", ""]
        if v.state == "waiting":
            return ["  Would you like to make the following edits?", "",
                    f"  Destination: {v.cwd}/{v.dialog_path}", "",
                    "› 1. Yes, proceed (y)", "  2. No, and tell Codex what to do differently (esc)", "",
                    f"  Press enter to confirm or esc to cancel · {MARK}codex"]
        return []

    def composer(self, v: View) -> list[str]:
        if v.state == "waiting":
            return []
        return [f"› {v.input or 'Ask Codex to do anything'}", "",
                f"  fake-model default · {v.context_left}% left · {v.cwd}", f"  ? for shortcuts · {MARK}codex"]


class GeminiLook(Look):
    name = "gemini"

    def banner(self, v: View) -> list[str]:
        return [f" Gemini CLI (tutti fake agent, {MARK}gemini)", "", "Tips for getting started:",
                "1. Ask coding questions, edit code or run commands", "2. Be specific for the best results", ""]

    def echo(self, prompt: str) -> list[str]:
        return [f" > {prompt_summary(prompt)}", ""]

    def answer(self, text: str, secs: float) -> list[str]:
        lines = text.split("\n")
        return [f"✦ {lines[0]}", *[f"  {ln}" for ln in lines[1:]], ""]

    def error(self, kind: str) -> list[str]:
        return [ERRORS["gemini"][kind], ""]

    def declined(self, path: str) -> list[str]:
        return [f"  -  WriteFile  {path} → Rejected", ""]

    def live(self, v: View) -> list[str]:
        if v.state == "working":
            return [f" {BRAILLE[v.frame % len(BRAILLE)]} Thinking... (esc to cancel, {int(v.elapsed)}s)", ""]
        if v.state == "waiting":
            width = min(max(v.cols, 40), 100) - 2
            body = [f"? WriteFile  Writing to {v.dialog_path}", "", "Apply this change?", "",
                    "● 1. Allow once", "  2. No, suggest changes (esc)", "", f"{MARK}gemini"]
            return [f"╭{'─' * width}╮", *[f"│ {t:<{width - 2}} │" for t in body], f"╰{'─' * width}╯"]
        return []

    def composer(self, v: View) -> list[str]:
        if v.state == "waiting":
            return []
        mode = " YOLO Ctrl+Y" if v.bypass else " Shift+Tab to accept edits"
        return [_rule(v), mode, f" >   {v.input or 'Type your message or @path/to/file'}",
                " workspace (/directory)        model", f" {v.cwd}        fake-model ({v.context_left}% context left) · {MARK}gemini"]


class AiderLook(Look):
    name = "aider"

    def banner(self, v: View) -> list[str]:
        return [f"Aider (tutti fake agent, {MARK}aider)", "Model: fake-model with whole edit format",
                f"Git repo: {v.cwd}", _rule_plain()]

    def answer(self, text: str, secs: float) -> list[str]:
        return [*text.split("\n"), "", "Tokens: 600 sent, 20 received.", _rule_plain()]

    def error(self, kind: str) -> list[str]:
        return [*ERRORS["aider"][kind].split("\n"), _rule_plain()]

    def declined(self, path: str) -> list[str]:
        return [f"Skipping edits to {path}", _rule_plain()]

    def live(self, v: View) -> list[str]:
        if v.state == "working":
            pos = v.frame % 6
            bar = "░" * pos + "█" + "░" * (5 - pos)
            return [f"{bar}  Waiting for fake-model"]
        if v.state == "waiting":
            return [v.dialog_path, "Create new file? (Y)es/(N)o [Yes]:"]
        return []

    def composer(self, v: View) -> list[str]:
        if v.state != "idle":
            return []
        return [f"> {v.input}"]


def _rule_plain() -> str:
    return "─" * 56 + f" {MARK}aider"


LOOKS: dict[str, type[Look]] = {"claude": ClaudeLook, "codex": CodexLook, "gemini": GeminiLook, "aider": AiderLook}


def get_look(name: str) -> Look:
    return LOOKS[name]()

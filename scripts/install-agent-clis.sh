#!/usr/bin/env bash
# Install the real agent CLIs the real-runtime test tier drives (Claude Code, Codex, Gemini CLI
# via npm; Aider in its own venv), idempotently, into a cache directory.
#
#   TUTTI_AGENT_CLIS_DIR   npm prefix            (default: $HOME/.cache/tutti-agent-clis)
#   TUTTI_AIDER_VENV       Aider's virtualenv    (default: $HOME/.cache/tutti-aider)
#
# Prints, as its last line, the one directory to put on PATH: $TUTTI_AGENT_CLIS_DIR/bin holds
# a symlink to each of claude, codex, gemini and aider. Tests look there themselves.
set -euo pipefail

CLIS_DIR="${TUTTI_AGENT_CLIS_DIR:-$HOME/.cache/tutti-agent-clis}"
AIDER_VENV="${TUTTI_AIDER_VENV:-$HOME/.cache/tutti-aider}"
NPM_PACKAGES=(@anthropic-ai/claude-code @openai/codex @google/gemini-cli)

log() { echo "install-agent-clis: $*" >&2; }

mkdir -p "$CLIS_DIR/bin"

need_npm=0
for b in claude codex gemini; do
  [ -x "$CLIS_DIR/node_modules/.bin/$b" ] || need_npm=1
done
if [ "$need_npm" = 1 ]; then
  command -v npm >/dev/null 2>&1 || { log "npm not found: install Node.js >= 20 first"; exit 1; }
  log "npm install ${NPM_PACKAGES[*]} into $CLIS_DIR"
  npm install --no-audit --no-fund --loglevel=error --prefix "$CLIS_DIR" "${NPM_PACKAGES[@]}" >&2
else
  log "claude, codex, gemini already installed in $CLIS_DIR"
fi

if [ ! -x "$AIDER_VENV/bin/aider" ]; then
  log "pip install aider-chat into $AIDER_VENV"
  [ -x "$AIDER_VENV/bin/python" ] || python3 -m venv "$AIDER_VENV"
  "$AIDER_VENV/bin/pip" install -q --disable-pip-version-check aider-chat >&2
else
  log "aider already installed in $AIDER_VENV"
fi

for b in claude codex gemini; do
  ln -sfn "$CLIS_DIR/node_modules/.bin/$b" "$CLIS_DIR/bin/$b"
done
ln -sfn "$AIDER_VENV/bin/aider" "$CLIS_DIR/bin/aider"

echo "$CLIS_DIR/bin"

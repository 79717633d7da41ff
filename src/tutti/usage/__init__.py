"""Token usage read from the agent CLIs' own logs (Claude Code, Codex, Gemini CLI).

`records` defines the normalised record; one reader module per runtime turns log lines into
records; `scan` reads the log files incrementally (file offsets kept in the store) and
attributes each record to an agent.
"""

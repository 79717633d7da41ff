"""Delivering prompts to agents (below `ops/`, shared by `tt send` and workflow steps)."""

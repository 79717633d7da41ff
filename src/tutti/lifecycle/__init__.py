"""Starting and stopping agents (below `ops/`, shared by `tt up`/`tt down` and workflow steps)."""

"""Permission policy: allow-rule matching, runtime exports (Claude settings) and shell shims."""

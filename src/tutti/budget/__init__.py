"""Budget guardrails (inventory §9.1). `check(ws, action, agent)` before up/send/run/verify —
the CLI, `ops` and `tt serve` call the same function (see `guard`)."""

from tutti.budget.guard import BudgetCheck, BudgetFinding, check, used_tokens, week_start

__all__ = ["BudgetCheck", "BudgetFinding", "check", "used_tokens", "week_start"]

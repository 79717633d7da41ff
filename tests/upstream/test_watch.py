"""Port of the original's `src/cli/watch.rs` tests (@ 31a1f40). Its rotation-strategy tests are in
test_up.py and its auth-status test in test_health.py; what remains is the TUI's PLAN/CTX table.
Ours has no `tt watch` yet (README: "a future `tt watch` … lands in supervisor/"): the live view is
`tt status` + the dashboard, so the PLAN column is asserted on `tt status` and expected to fail."""

from __future__ import annotations

import pytest

PROFILE = '[[profile]]\nname = "api-main"\nprovider = "openai"\ncommand = "codex"\nplan = "{plan}"\n'
WS = ('[workspace]\nname = "ws"\n[workspace.auth]\ndefault_profile = "{profile}"\n'
      '[[agent]]\nname = "backend"\nruntime = "codex"\n[[agent]]\nname = "frontend"\nruntime = "codex"\n')

NOT_BUILT = pytest.mark.xfail(strict=False, reason="tt watch (the original's PLAN/CTX agent table) not built yet; "
                                                   "tt status has no plan column")


@NOT_BUILT
@pytest.mark.parametrize(("plan", "profile", "label"), [("api", "api-main", "API"), ("max", "api-main", "MAX"),
                                                        ("  pro ", "api-main", "PRO"), ("api", "missing", "--")])
def test_plan_label_per_agent(ws, tt, tt_json, global_config, plan, profile, label):
    """upstream: src/cli/watch.rs::tests::resolve_workspace_plan_label_uses_default_profile_plan,
    resolve_workspace_plan_label_returns_dash_when_unresolved, format_plan_label_uppercases_and_defaults,
    build_plan_cache_applies_workspace_plan_to_agents, build_plan_cache_defaults_to_dash_when_global_missing"""
    global_config(PROFILE.format(plan=plan))
    root = ws(WS.format(profile=profile))
    rc, rows, err = tt_json("status", cwd=root)
    assert rc == 0, err
    assert {r["agent"]: r.get("plan") for r in rows} == {"backend": label, "frontend": label}


@NOT_BUILT
def test_watch_header_columns_include_plan_and_ctx(ws, tt, global_config):
    """upstream: src/cli/watch.rs::tests::watch_header_columns_include_plan_and_ctx"""
    global_config(PROFILE.format(plan="api"))
    header = tt("status", cwd=ws(WS.format(profile="api-main"))).stdout.splitlines()[0].split()
    assert "PLAN" in [h.upper() for h in header] and "CTX" in [h.upper() for h in header]

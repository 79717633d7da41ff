"""Issue #11 §2: the original compares the global config's enum values case-insensitively and
accepts three-letter day abbreviations; configs written for it must load unchanged."""

from __future__ import annotations

from datetime import datetime

from tutti.config import global_config as gc

ORIGINAL_STYLE = """\
[[profile]]
name = "work"
provider = "anthropic"
command = "claude"
plan = "API"
reset_day = "Wed"

[resilience]
rate_limit_strategy = "AUTO_ROTATE"
provider_down_strategy = "Rotate_Profile"

[serve]
auth = "Bearer"
"""


def _write(text: str) -> None:
    path = gc.global_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_uppercase_plan_strategies_and_auth_load_as_their_lowercase_values():
    _write(ORIGINAL_STYLE)
    config = gc.load_global()
    profile = config.profile("work")
    assert profile.plan == "api"
    assert config.resilience.rotation_enabled()
    assert config.resilience.provider_down_strategy == "rotate_profile"
    assert config.serve.auth == "bearer"


def test_day_abbreviations_mean_the_full_weekday():
    for spelling, full in [("mon", "monday"), ("Wed", "wednesday"), ("SUN", "sunday"), ("Friday", "friday")]:
        _write(f'[[profile]]\nname = "p"\nreset_day = "{spelling}"\n')
        assert gc.load_global().profile("p").reset_day == full


def test_budget_is_active_for_plan_API_and_resets_on_the_abbreviated_day(git_repo):
    from tutti.budget.guard import check
    from tutti.workspace import load_workspace_at

    _write(ORIGINAL_STYLE)
    (git_repo / "tutti.toml").write_text(
        '[workspace]\nname = "b"\n[workspace.auth]\ndefault_profile = "work"\n'
        '[budget]\nworkspace_weekly_tokens = 1000\n[[agent]]\nname = "a"\nruntime = "fake"\n')
    ws = load_workspace_at(git_repo)
    now = datetime(2026, 12, 4, 12, 0).astimezone()  # a Friday
    result = check(ws, "send", now=now, env={"HOME": str(git_repo)})
    assert result.active, result.reason
    assert datetime.fromisoformat(result.since).weekday() == 2  # Wednesday


def test_unknown_plan_still_fails_with_the_key_path():
    import pytest

    from tutti.errors import ConfigError

    _write('[[profile]]\nname = "p"\nplan = "Gold"\n')
    with pytest.raises(ConfigError) as err:
        gc.load_global()
    assert "plan" in str(err.value.message) + str(err.value.hint)

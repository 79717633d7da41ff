"""The recovery policy decides restarts, backoff, rotation and the breaker (fake clock)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tutti.config.models import Profile, Resilience
from tutti.resilience.backoff import backoff_secs, retry_after_secs
from tutti.resilience.policy import Failure, RecoveryPolicy


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


PROFILES = [
    Profile(name="claude-a", provider="anthropic", priority=1),
    Profile(name="claude-b", provider="anthropic", priority=2),
    Profile(name="claude-c", provider="anthropic", priority=3),
    Profile(name="openai-x", provider="openai", priority=0),
]


def policy(**res) -> tuple[RecoveryPolicy, Clock]:
    clock = Clock()
    cfg = {"rate_limit_strategy": "rotate_profile", "provider_down_strategy": "failover", **res}
    return RecoveryPolicy(Resilience(**cfg), PROFILES, clock=clock), clock


def test_rate_limit_rotates_to_the_next_same_provider_profile_not_the_default():
    pol, _ = policy()
    (act,) = pol.on_failure(Failure("w1", "rate_limited", "claude-a", "API Error: 429"))
    assert (act.kind, act.from_profile, act.to_profile, act.attempt, act.backoff_secs) == \
        ("restart", "claude-a", "claude-b", 1, 0.0)
    assert pol.due() == [act]


def test_rotation_continues_round_the_ring_and_backs_off_exponentially():
    pol, clock = policy(recovery_max_attempts=5)
    seen = []
    profile = "claude-b"
    for _ in range(3):
        (act,) = pol.on_failure(Failure("w1", "provider_down", profile, "API Error: 529 overloaded"))
        seen.append((act.to_profile, act.backoff_secs))
        if act.backoff_secs:
            assert pol.due() == [] and pol.next_due() == clock.t + act.backoff_secs
            clock.t += act.backoff_secs
        assert pol.due() == [act]
        assert pol.due() == [] and pol.busy()  # handed out once, running until on_result
        pol.on_result(act, ok=True)
        profile = act.to_profile
    # b → c → a (wraps round, skips the other provider); 0 s, then 30 s, 60 s
    assert [s[0] for s in seen] == ["claude-c", "claude-a", "claude-b"]
    assert [s[1] for s in seen][:2] == [0.0, 30.0]
    assert seen[2][1] >= 60.0


def test_circuit_breaker_opens_after_max_attempts_and_stays_open():
    pol, clock = policy(recovery_max_attempts=2)
    for _ in range(2):
        (act,) = pol.on_failure(Failure("w1", "auth_failed", "claude-a", "Invalid API key"))
        clock.t += act.backoff_secs
        pol.on_result(act, ok=True)
    (give_up,) = pol.on_failure(Failure("w1", "auth_failed", "claude-a", "Invalid API key"))
    assert give_up.kind == "give_up" and "human is needed" in give_up.error
    assert pol.on_failure(Failure("w1", "auth_failed", "claude-a", "Invalid API key")) == []  # no repeat
    assert pol.next_due() is None


def test_breaker_closes_after_the_agent_stays_healthy_for_the_reset_window():
    pol, clock = policy(recovery_max_attempts=1, recovery_reset_secs=600)
    (act,) = pol.on_failure(Failure("w1", "rate_limited", "claude-a"))
    pol.on_result(act, ok=True)
    pol.on_healthy("w1")
    clock.t += 601
    (again,) = pol.on_failure(Failure("w1", "rate_limited", "claude-b"))
    assert again.kind == "restart" and again.attempt == 1


def test_failed_relaunch_moves_on_to_the_following_profile():
    pol, _ = policy()
    (act,) = pol.on_failure(Failure("w1", "auth_failed", "claude-a"))
    (nxt,) = pol.on_result(act, ok=False, error="auth_failed: Invalid API key")
    assert (nxt.from_profile, nxt.to_profile, nxt.attempt) == ("claude-b", "claude-c", 2)


def test_pause_strategy_only_records():
    pol, _ = policy(rate_limit_strategy="pause")
    (act,) = pol.on_failure(Failure("w1", "rate_limited", "claude-a"))
    assert act.kind == "pause" and pol.due() == [] and pol.next_due() is None


def test_no_strategy_means_no_recovery():
    pol, _ = policy(rate_limit_strategy=None, provider_down_strategy=None)
    assert pol.on_failure(Failure("w1", "rate_limited", "claude-a")) == []
    assert pol.on_failure(Failure("w1", "crashed", "claude-a")) == []


def test_single_profile_waits_for_the_reset_hint_before_restarting_on_it():
    pol = RecoveryPolicy(Resilience(rate_limit_strategy="rotate"), [Profile(name="solo", provider="anthropic")],
                         clock=Clock())
    (act,) = pol.on_failure(Failure("w1", "rate_limited", "solo", "API error · Retrying in 45s · attempt 6/10"))
    assert act.to_profile == "solo" and act.backoff_secs == 45.0


def test_correlated_failures_are_one_provider_level_event_and_rotate_together():
    pol, clock = policy()
    (first,) = pol.on_failure(Failure("w1", "rate_limited", "claude-a", "429"))
    clock.t += 5
    acts = pol.on_failure(Failure("w2", "rate_limited", "claude-a", "429"))
    kinds = [a.kind for a in acts]
    assert kinds == ["degraded", "restart"]
    assert acts[0].agents == ["w1", "w2"] and acts[0].from_profile == "claude-a"
    assert acts[1].to_profile == first.to_profile == "claude-b" and acts[1].provider_level
    clock.t += 5
    acts3 = pol.on_failure(Failure("w3", "rate_limited", "claude-a", "429"))
    assert [a.kind for a in acts3] == ["restart"]  # announced once per window
    assert acts3[0].to_profile == "claude-b"


def test_persistent_crash_restarts_on_the_same_profile_only_when_asked():
    pol, _ = policy(restart_persistent=True)
    (act,) = pol.on_failure(Failure("svc", "crashed", "claude-a", "exit status 3"))
    assert (act.strategy, act.to_profile) == ("crash_restart", "claude-a")


def test_a_second_failure_while_a_restart_is_pending_is_ignored():
    pol, _ = policy()
    (act,) = pol.on_failure(Failure("w1", "rate_limited", "claude-a"))
    assert pol.on_failure(Failure("w1", "provider_down", "claude-a")) == []
    assert pol.due() == [act]


def test_stuck_uses_the_provider_down_strategy():
    pol, _ = policy(rate_limit_strategy=None)
    (act,) = pol.on_failure(Failure("w1", "stuck", "claude-a", "working for 400s"))
    assert act.strategy == "failover" and act.to_profile == "claude-b"


@pytest.mark.parametrize("text,secs", [
    ("✻ API error · Retrying in 11s · attempt 6/10", 11),
    ("Rate limit reached. Please try again in 5 minutes.", 300),
    ("429 Too Many Requests; retry-after: 20", 20),
    ("■ stream error: exceeded retry limit, last status: 429; retry in 2h", 7200),
    ("API Error: 500 internal server error", None),
])
def test_retry_hints_are_read_from_the_error_line(text, secs):
    assert retry_after_secs(text) == secs


def test_wall_clock_reset_hint_means_the_next_such_local_time():
    now = datetime(2026, 11, 25, 14, 0).astimezone()
    assert retry_after_secs("5-hour limit reached ∙ resets 3pm", now=now) == 3600
    assert retry_after_secs("Your limit will reset at 13:30", now=now) == 23.5 * 3600


def test_backoff_doubles_and_caps():
    assert [backoff_secs(n, base=30, cap=100) for n in range(1, 6)] == [0, 30, 60, 100, 100]

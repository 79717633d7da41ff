"""`patiently`: forge outages and rate limits that outlive the client's own retries are waited
out; real refusals (404, 401) are not."""

from __future__ import annotations

import threading

import pytest

from tutti.errors import ForgeError
from tutti.forge.github import GitHub
from tutti.loop.github_link import patiently


def test_an_outage_longer_than_the_clients_retries_is_waited_out(forge):
    forge.create_repo("acme/app")
    forge.create_issue("acme/app", "one")
    gh = GitHub("acme/app", max_retries=0)  # the client gives up at once: the loop must wait
    forge.fail("5xx", times=0)
    threading.Timer(2.0, lambda: forge.fail("normal")).start()
    waits: list[float] = []
    issue = patiently(lambda: gh.get_issue(1), on_wait=lambda why, secs: waits.append(secs), budget=60)
    assert issue["title"] == "one" and waits and waits[0] == 1.0
    assert any(r["status"] >= 500 for r in forge.requests())


def test_a_real_refusal_is_not_retried(forge):
    forge.create_repo("acme/app")
    gh = GitHub("acme/app", max_retries=0)
    calls = []

    def missing():
        calls.append(1)
        return gh.get_issue(99)

    with pytest.raises(ForgeError):
        patiently(missing, budget=30)
    assert len(calls) == 1


def test_the_wait_has_a_budget(forge):
    forge.create_repo("acme/app")
    gh = GitHub("acme/app", max_retries=0)
    forge.fail("5xx", times=0)
    with pytest.raises(ForgeError):
        patiently(lambda: gh.get_issue(1), budget=2.5)
    forge.fail("normal")

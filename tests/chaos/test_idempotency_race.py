"""Idempotency-Key under concurrency (#13; the 422 itself is #11's): twenty requests race with
one key, half of them with another body. Exactly one run executes; every response is either
that run (200, same body) or a 422 mismatch — never a silent replay of the other body."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from tests.serve.live import serving, write_workspace

from tutti.workspace import load_workspace_at

pytestmark = pytest.mark.slow


def test_one_key_two_bodies_racing_execute_once_and_the_other_body_is_422(git_repo):
    ws = load_workspace_at(write_workspace(git_repo))
    bodies = [{"workflow": "check"}, {"workflow": "check", "strict": True}]
    with serving([ws]) as url:
        def fire(i: int) -> httpx.Response:
            return httpx.post(url + "/v1/actions/run", json=bodies[i % 2], headers={"Idempotency-Key": "race-1"},
                              timeout=60)

        with ThreadPoolExecutor(max_workers=20) as pool:
            responses = list(pool.map(fire, range(20)))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 422}, codes
    ok = [(i, r) for i, r in enumerate(responses) if r.status_code == 200]
    assert ok and len({r.json()["data"]["run_id"] for _, r in ok}) == 1
    winner = ok[0][0] % 2
    assert all(i % 2 == winner for i, _ in ok)  # only the body that won is ever answered with the run
    assert all(r.json()["error"]["code"] == "idempotency_mismatch"
               for i, r in enumerate(responses) if r.status_code == 422)
    assert codes.count(422) == 10
    assert ws.store.query("SELECT COUNT(*) FROM runs")[0][0] == 1

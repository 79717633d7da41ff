"""Fixtures of the serve tests: a workspace, a live server on it, and a client."""

from __future__ import annotations

import pytest

from .live import load, serving, write_workspace


@pytest.fixture
def workspace(git_repo):
    return load(write_workspace(git_repo))


@pytest.fixture
def server(workspace):
    with serving([workspace]) as url:
        yield url


@pytest.fixture
def client(server):
    import httpx

    with httpx.Client(base_url=server, timeout=30) as c:
        yield c

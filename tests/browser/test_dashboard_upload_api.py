"""POST /v1/actions/upload over real HTTP: type by magic bytes, size cap, names we choose."""

from __future__ import annotations

import base64

import httpx
import pytest

from serve.live import load, serving, write_workspace
from tutti.ops.uploads import MAX_BYTES

GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 " + b"\x00" * 14
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20 + b"\xff\xd9"


@pytest.fixture
def served(git_repo):
    ws = load(write_workspace(git_repo))
    with serving([ws]) as url:
        yield ws, url


def _post(url, **body):
    return httpx.post(f"{url}/v1/actions/upload", json=body, timeout=60)


@pytest.mark.parametrize("data,ext", [(GIF, "gif"), (WEBP, "webp"), (JPEG, "jpg")])
def test_kinds_by_magic_bytes(served, data, ext):
    ws, url = served
    r = _post(url, agent="planner", filename="../../etc/passwd.png", data_base64=base64.b64encode(data).decode())
    assert r.status_code == 200, r.text
    up = r.json()["data"]["upload"]
    assert up["path"].startswith(".tutti-inject/uploads/") and up["path"].endswith("." + ext)
    assert (ws.root / up["path"]).read_bytes() == data  # the browser's file name never becomes a path
    assert up["reference"] == f"[attached image: {up['path']}]"
    assert ws.store.read_events(0, kinds=["agent.image_uploaded"])[-1].data["filename"] == "../../etc/passwd.png"


def test_rejections(served):
    ws, url = served
    r = _post(url, agent="planner", data_base64=base64.b64encode(b"%PDF-1.7 not an image").decode())
    assert r.status_code == 400 and "not a PNG, JPEG, GIF or WebP" in r.json()["error"]["message"]
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_BYTES
    r = _post(url, agent="planner", data_base64=base64.b64encode(big).decode())
    assert r.status_code == 400 and "at most 5 MiB" in r.json()["error"]["message"]
    r = _post(url, agent="ghost", data_base64=base64.b64encode(GIF).decode())
    assert r.status_code == 404
    r = _post(url, agent="planner", data_base64="***")
    assert r.status_code == 400 and "base64" in r.json()["error"]["message"]
    assert not (ws.root / ".tutti-inject" / "uploads").exists() or not any((ws.root / ".tutti-inject" / "uploads").iterdir())

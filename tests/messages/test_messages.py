"""Agent-to-agent messages: caps when posting, delivery by the supervisor, CLI and API."""

from __future__ import annotations

import json

import pytest
from tests.helpers import wait_until
from tests.serve.live import load, serving, write_workspace

from tutti.errors import NotFoundError, UsageError
from tutti.ops import agents, messages
from tutti.workspace import load_workspace_at


@pytest.fixture
def ws(git_repo):
    return load(write_workspace(git_repo))


def test_post_list_and_loop_caps(ws, monkeypatch):
    m1 = messages.post(ws, "builder", "please build", sender="planner")
    assert (m1.status, m1.depth, m1.sender) == ("pending", 0, "planner")
    r1 = messages.post(ws, "planner", "built", sender="builder", reply_to=m1.msg_id)
    r2 = messages.post(ws, "builder", "thanks", sender="planner", reply_to=r1.msg_id)
    r3 = messages.post(ws, "planner", "np", sender="builder", reply_to=r2.msg_id)
    assert [r1.depth, r2.depth, r3.depth] == [1, 2, 3]
    with pytest.raises(messages.LimitError, match="reply chain too deep"):
        messages.post(ws, "builder", "again", sender="planner", reply_to=r3.msg_id)
    with pytest.raises(UsageError, match="cannot message itself"):
        messages.post(ws, "planner", "hi me", sender="planner")
    with pytest.raises(NotFoundError, match="not an agent"):
        messages.post(ws, "nobody", "hi", sender="planner")
    with pytest.raises(NotFoundError, match="does not exist"):
        messages.post(ws, "builder", "hi", sender="planner", reply_to=999)
    monkeypatch.setattr(messages, "MAX_PER_PAIR", 3)
    with pytest.raises(messages.LimitError, match="at most 3"):
        for _ in range(3):
            messages.post(ws, "builder", "spam", sender="planner")
    messages.post(ws, "builder", "the operator is not capped", sender="user")
    listed = messages.list_messages(ws, agent="builder")
    assert listed[0].body == "the operator is not capped" and all(
        "builder" in (m.sender, m.recipient) for m in listed)
    kinds = [e.kind for e in ws.store.read_events(0, kind_prefix="message.")]
    assert kinds.count("message.posted") == len(messages.list_messages(ws))


def test_cli_errors_are_one_line(ws, tt):
    res = tt("msg", "send", "nobody", "hi", cwd=ws.root)
    assert res.returncode != 0 and res.stderr.startswith("error[not_found]") and "Traceback" not in res.stderr
    res = tt("msg", "list", "--status", "bogus", cwd=ws.root)
    assert res.returncode != 0 and "error[usage]" in res.stderr


def test_api_action_posts(ws):
    import httpx

    with serving([ws]) as url:
        r = httpx.post(f"{url}/v1/actions/message", json={"to": "builder", "text": "from the API"}, timeout=30)
        assert r.status_code == 200, r.text
        posted = r.json()["data"]["message"]
        assert posted["recipient"] == "builder" and posted["sender"] == "user"
        bad = httpx.post(f"{url}/v1/actions/message", json={"to": "ghost", "text": "x"}, timeout=30)
        assert bad.status_code == 404
        listed = httpx.get(f"{url}/v1/messages", params={"agent": "builder"}, timeout=30).json()["data"]
        assert [m["body"] for m in listed] == ["from the API"] and listed[0]["workspace"] == ws.name
    assert messages.get(ws, posted["msg_id"]).body == "from the API"


def _records(root, agent):
    path = root / ".records" / f"{agent}.jsonl"
    return [json.loads(x)["prompt"] for x in path.read_text().splitlines()] if path.exists() else []


def test_supervisor_delivers_when_idle_one_per_turn(fake_workspace, tt):
    root = fake_workspace([{"name": "a"}, {"name": "b"}], script='work_secs = 1.0\nreply = "Done."\n')
    ws = load_workspace_at(root)
    agents.up(ws)  # its background supervisor runs the inbox part
    wait_until(lambda: messages.idle_seq(ws, "b"), timeout=60, what="b idle")
    for text in ("first note", "second note"):
        res = tt("msg", "send", "b", text, "--from", "a", "--json", cwd=root)
        assert res.returncode == 0, res.stderr
    wait_until(lambda: len(_records(root, "b")) == 2, timeout=60, what="both messages delivered to b")
    first, second = _records(root, "b")
    assert first.startswith("[message #1 from a]") and "first note" in first
    assert "second note" in second and "tt msg send a --reply-to 2" in second
    # recorded once the agent acknowledged the prompt, so it may trail the prompt's arrival
    delivered = wait_until(lambda: (lambda ev: ev if len(ev) == 2 else None)(
        ws.store.read_events(0, kinds=["message.delivered"])), timeout=30, what="two message.delivered events")
    assert [e.data["msg_id"] for e in delivered] == [1, 2]
    # one message per idle turn: b went idle (again) between the two deliveries
    idle_between = ws.store.read_events(delivered[0].seq, kinds=["agent.idle"], agent="b")
    assert idle_between and idle_between[0].seq < delivered[1].seq
    listed = json.loads(tt("msg", "list", "--json", cwd=root).stdout)
    assert [m["status"] for m in listed] == ["delivered", "delivered"]


def test_a_workflow_step_posts_a_message(git_repo):
    import sys

    from tutti.workflows.engine import run_named

    extra = f"""
[[workflow]]
name = "notify"

[[workflow.step]]
id = "tell"
type = "command"
agent = "planner"
run = "{sys.executable} -m tutti msg send builder 'the plan is ready'"
"""
    ws = load(write_workspace(git_repo, extra=extra))
    result = run_named(ws, "notify")
    assert result.status == "succeeded", result
    (msg,) = messages.list_messages(ws)
    assert (msg.sender, msg.recipient, msg.body, msg.status) == ("planner", "builder", "the plan is ready", "pending")

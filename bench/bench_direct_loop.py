"""Loop overhead per turn: the API-direct AgentLoop vs a bare httpx client sending the same
streaming requests to the scripted model server on 127.0.0.1.

The loop's extra work per turn: assembling the stream into messages, the policy gate, running a
small tool (read_file), and three-to-four SQLite event appends (WAL) with running totals.

    python bench/bench_direct_loop.py [--turns 50] [--repeats 5] [--kind openai|anthropic|openai-responses|gemini]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tutti.direct.events import RunRecorder
from tutti.direct.loop import AgentLoop
from tutti.direct.messages import Message
from tutti.direct.policy import Policy, PolicyGate
from tutti.direct.providers import ProviderSettings, build_provider
from tutti.direct.providers.chain import ProviderChain
from tutti.direct.tools import ToolBox
from tutti.store.db import Store
from tutti.testing.model_server import ScriptedModelServer


def script(turns: int) -> dict:
    calls = [
        {
            "text": f"turn {i}: reading",
            "tool_calls": [{"name": "read_file", "arguments": {"path": "a.txt"}}],
            "usage": {"input_tokens": 1000 + i, "output_tokens": 20},
        }
        for i in range(turns - 1)
    ]
    return {"turns": calls + [{"text": "finished", "usage": {"input_tokens": 2000, "output_tokens": 5}}]}


def run_loop(srv: ScriptedModelServer, kind: str, root: Path, store: Store, turns: int, n: int) -> float:
    base = srv.url if kind in ("anthropic", "gemini") else srv.base_url
    models = {"anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash", "openai-responses": "gpt-5"}
    settings = ProviderSettings(
        kind=kind,
        model=models.get(kind, "gpt-4o"),
        base_url=base,
        api_key="bench-key",
    )
    chain = ProviderChain([build_provider(settings)])
    chain.active._client  # build the HTTP client outside the timing, as run_bare does  # noqa: B018
    loop = AgentLoop(
        chain=chain,
        toolbox=ToolBox(root),
        gate=PolicyGate(Policy(), run_id=f"bench{n}"),
        recorder=RunRecorder(store, f"bench{n}", agent="bench"),
        max_turns=turns + 1,
    )
    started = time.perf_counter()
    loop.start("benchmark")
    result = loop.run([Message.user("benchmark")])
    elapsed = time.perf_counter() - started
    chain.close()
    assert result.ok and result.totals.model_calls == turns, result.to_dict()
    return elapsed


def run_bare(srv: ScriptedModelServer, requests: list[tuple[str, dict]]) -> float:
    """The same requests (path and body, as the server logged them), sent with a bare client."""
    headers = {
        "x-api-key": "bench-key",
        "anthropic-version": "2023-06-01",
        "authorization": "Bearer bench-key",
    }
    with httpx.Client(trust_env=False) as client:
        started = time.perf_counter()
        for path, body in requests:
            with client.stream("POST", srv.url + path, json=body, headers=headers) as response:
                for _ in response.iter_lines():
                    pass
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--kind", choices=("openai", "anthropic", "openai-responses", "gemini"), default="openai"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ScriptedModelServer(script(args.turns)) as srv:
        root = Path(tmp) / "root"
        root.mkdir()
        (root / "a.txt").write_text("hello\n" * 50)
        store = Store(Path(tmp) / "tutti.db", workspace="bench")
        loop_times, bare_times = [], []
        for n in range(args.repeats):
            srv.reset()
            loop_times.append(run_loop(srv, args.kind, root, store, args.turns, n))
            requests = [(r.path, r.body) for r in srv.requests()]
            srv.reset()
            bare_times.append(run_bare(srv, requests))
        events = store.query("SELECT COUNT(*) FROM events")[0][0]
    loop_ms = statistics.median(loop_times) * 1000 / args.turns
    bare_ms = statistics.median(bare_times) * 1000 / args.turns
    print(f"provider={args.kind} turns/run={args.turns} repeats={args.repeats} events written={events}")
    print(f"agent loop : {loop_ms:7.2f} ms/turn (median run {statistics.median(loop_times) * 1000:.0f} ms)")
    print(f"bare httpx : {bare_ms:7.2f} ms/turn (median run {statistics.median(bare_times) * 1000:.0f} ms)")
    print(
        f"overhead   : {loop_ms - bare_ms:7.2f} ms/turn "
        f"({(loop_ms / bare_ms - 1) * 100:.0f}% over the bare client)"
    )


if __name__ == "__main__":
    main()

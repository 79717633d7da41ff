"""The remote operator's view (#16): host events reach the control store outside runs, remote
agents in the API and dashboard, remote `tt logs -f` and `tt attach` — with a real Temporal dev
server, two simulated hosts (`tt host --name h1|h2`, own tmux sockets/HOMEs/stores), the control
process and the shipped fake agent."""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest
from tests.helpers import wait_until

from .harness import prompts, query

pytestmark = [pytest.mark.temporal, pytest.mark.slow]


def _forwarded(c, host: str) -> list[int]:
    """host_seq of every event the control store holds from `host`, in control order."""
    return [r[0] for r in query(c.repo / ".tutti" / "tutti.db",
                                "SELECT json_extract(data, '$.host_seq') FROM events "
                                "WHERE json_extract(data, '$.host') = ? ORDER BY seq", (host,))]


def _host_seqs(c, host: str) -> list[int]:
    return [r[0] for r in query(c.host_db(host), "SELECT seq FROM events ORDER BY seq")]


def _converged(c, host: str) -> bool:
    sent = _host_seqs(c, host)
    return bool(sent) and sorted(_forwarded(c, host)) == sent


def test_host_events_outside_runs_reach_the_control_once_across_kills(cluster_factory):
    c = cluster_factory()
    # a state change on each host outside any run: the watcher there records working/idle
    for agent in ("a1", "a2"):
        res = c.tt("send", agent, f"hello {agent}", "--auto-up", "--wait", "--timeout-secs", "90", "--json")
        assert res.returncode == 0, res.stdout + res.stderr
    ctl = c.repo / ".tutti" / "tutti.db"
    for host, agent in (("h1", "a1"), ("h2", "a2")):
        wait_until(lambda: query(ctl, "SELECT 1 FROM events WHERE agent = ? AND kind = 'agent.idle' AND run_id IS NULL "
                                 "AND json_extract(data, '$.host') = ?", (agent, host)),
                   timeout=60, what=f"{agent}'s idle state from {host}")
        wait_until(lambda: _converged(c, host), timeout=60, what=f"{host}'s events in the control store")
    kinds = [r[0] for r in query(ctl, "SELECT kind FROM events WHERE agent = 'a1' ORDER BY seq")]
    assert "agent.working" in kinds and kinds.index("agent.working") < len(kinds) - 1 - kinds[::-1].index("agent.idle")

    # a stream of events on h1 (usage records, as the usage collector writes them); kill -9 the
    # host (its forwarder), then the control and the Temporal service mid-stream, restart them:
    # no gap, no duplicate
    from tutti.store.db import Store

    store, total, resume = Store(c.host_db("h1"), "dist"), 300, threading.Event()

    def stream() -> None:  # the second half is written while the control and the service are down
        for i in range(total):
            if i == total // 2:
                resume.wait(120)
            store.append_event("usage.recorded", agent="a1", data={"i": i})
            time.sleep(0.01)

    def usage_forwarded() -> int:
        return query(ctl, "SELECT COUNT(*) FROM events WHERE kind = 'usage.recorded' "
                          "AND json_extract(data, '$.host') = 'h1'")[0][0]

    writer = threading.Thread(target=stream)
    writer.start()
    wait_until(lambda: usage_forwarded() > 20, timeout=60, what="forwarding under way")
    c.hosts["h1"].kill(signal.SIGKILL)
    assert usage_forwarded() < total // 2  # killed mid-stream
    time.sleep(0.5)
    c.hosts["h1"].start()
    wait_until(lambda: usage_forwarded() == total // 2, timeout=90, what="the first half after the host restart")
    c.control.kill(signal.SIGKILL)
    c.server.kill()  # and the Temporal service itself, restarted on its database file
    resume.set()
    writer.join()
    c.server.start()
    c.control.start()
    wait_until(lambda: _converged(c, "h1"), timeout=120, what="every h1 event in the control store")
    got = _forwarded(c, "h1")
    assert len(got) == len(set(got)), "an h1 event was forwarded twice"
    usage = [json.loads(r[0])["i"] for r in query(ctl, "SELECT data FROM events WHERE kind = 'usage.recorded' "
                                                        "AND json_extract(data, '$.host') = 'h1' ORDER BY seq")]
    assert usage == list(range(total))  # in host order, none lost, none doubled
    assert _converged(c, "h2") and len(set(_forwarded(c, "h2"))) == len(_forwarded(c, "h2"))
    store.close()


# -- remote agents in the API and the dashboard -------------------------------------------------
def _serve(c):
    from .harness import Process, free_port, port_open

    with open(c.repo / "tutti.toml", "a") as fh:
        fh.write("\n[observe]\ndashboard = true\n")
    port = free_port()
    proc = Process(["serve", "--port", str(port)], c.repo, c.control.env, c.tmp / "serve.log")
    proc.start(ready=None)
    wait_until(lambda: port_open(port) or proc.proc.poll() is not None, timeout=60, what="tt serve")
    assert proc.proc.poll() is None, (c.tmp / "serve.log").read_text()
    return proc, f"http://127.0.0.1:{port}"


def _get(url: str) -> tuple[dict, float]:
    import urllib.request

    start = time.monotonic()
    with urllib.request.urlopen(url, timeout=60) as resp:
        return json.loads(resp.read()), time.monotonic() - start


def test_remote_agents_in_the_api_and_dashboard_with_their_hosts(cluster_factory):
    c = cluster_factory()
    res = c.tt("send", "a1", "hello a1", "--auto-up", "--wait", "--timeout-secs", "90")
    assert res.returncode == 0, res.stdout + res.stderr
    wait_until(lambda: query(c.repo / ".tutti" / "tutti.db", "SELECT 1 FROM events WHERE agent = 'a1' AND "
                             "kind = 'agent.idle' AND json_extract(data, '$.host') = 'h1'"), timeout=60,
               what="a1's forwarded idle state")
    serve, base = _serve(c)
    try:
        body, _ = _get(f"{base}/v1/agents")
        rows = {r["agent"]: r for r in body["data"]}
        assert (rows["a1"]["host"], rows["a1"]["state"]) == ("h1", "idle")  # from the forwarded events
        assert (rows["a2"]["host"], rows["a2"]["state"]) == ("h2", "stopped")
        focus, _ = _get(f"{base}/v1/agents/dist/a1/focus?lines=20")
        data = focus["data"]
        assert data["host"] == "h1" and data["host_answered"] is True, data
        assert "hello a1" in data["terminal"] and "Done." in data["terminal"], data["terminal"]
        _dashboard(c, base)

        # a1 is idle again after the dashboard's prompt (forwarded in host order); then the hosts go
        # away: the agent list still answers at once (no host is called per request)
        wait_until(lambda: query(c.repo / ".tutti" / "tutti.db", "SELECT 1 FROM events WHERE agent = 'a1' AND "
                                 "kind = 'agent.idle' AND seq > (SELECT MAX(seq) FROM events WHERE agent = 'a1' "
                                 "AND kind = 'agent.prompt_sent')"), timeout=60, what="a1 idle after the last prompt")
        for host in ("h1", "h2"):
            c.hosts[host].kill(signal.SIGKILL)
        body, secs = _get(f"{base}/v1/agents")
        assert {r["agent"]: r["state"] for r in body["data"]} == {"a1": "idle", "a2": "stopped"} and secs < 3, secs
        focus, secs = _get(f"{base}/v1/agents/dist/a1/focus?lines=20")
        data = focus["data"]
        assert data["host_answered"] is False and data["terminal"] is None, data
        assert "host 'h1' did not answer within" in data["errors"]["terminal"] and secs < 20, (data, secs)
        # tt status asks both (dead) hosts at once, bounded, and shows the last forwarded state
        start = time.monotonic()
        res = c.tt("status", "--json")
        secs = time.monotonic() - start
        assert res.returncode == 0, res.stdout + res.stderr
        rows = {r["agent"]: r for r in json.loads(res.stdout)}
        assert rows["a1"]["status"] == "unknown" and secs < 25, (rows, secs)
        assert any("host 'h1' did not answer" in e for e in rows["a1"]["evidence"])
        assert any(e.startswith("last forwarded state: idle at ") for e in rows["a1"]["evidence"]), rows["a1"]
    finally:
        serve.kill()


def _dashboard(c, base: str) -> None:
    """Headless Chromium: the station says where the agent runs; focus mode shows its pane; the
    agent's next state change on its host arrives live."""
    from pathlib import Path

    from tests.browser.conftest import ARGS, CHROMIUM

    if not Path(CHROMIUM).exists():
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(30000)
            page.goto(base + "/")
            page.wait_for_selector("body[data-ready=true]")
            page.wait_for_selector('[data-testid="conn"][data-state="live"]')
            station = page.locator('[data-testid="station-a1"]')
            assert station.get_attribute("data-host") == "h1" and "on h1" in station.inner_text()
            assert page.locator('[data-testid="station-state-a1"]').inner_text() == "idle"
            station.click()
            page.wait_for_selector('[data-testid="focus"]:not([hidden])')
            terminal = page.locator('[data-testid="focus-terminal"]')
            deadline = time.monotonic() + 30
            while "hello a1" not in terminal.inner_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            note = page.locator('[data-testid="focus-note"]').inner_text()
            assert "hello a1" in terminal.inner_text(), (terminal.inner_text(), note)
            assert page.locator('[data-testid="focus-host"]').inner_text() == "on h1 · relayed"
            # a state change on h1 reaches the open page live: forwarded, then the control's SSE
            page.click('[data-testid="focus-close"]')
            seqs = "[...document.querySelectorAll('[data-testid=timeline] li')]"
            before = page.evaluate(f"Math.max(0, ...{seqs}.map(li => +li.dataset.seq))")
            res = c.tt("send", "a1", "second task", "--wait", "--timeout-secs", "90")
            assert res.returncode == 0, res.stdout + res.stderr
            page.wait_for_function(f"(b) => {seqs}.some(li => +li.dataset.seq > b && "
                                   "li.textContent.includes('agent.working') && li.textContent.includes('a1'))",
                                   arg=before)
            # focus mode's prompt for a remote agent is delivered by its host (POST /v1/actions/send)
            station.click()
            page.wait_for_selector('[data-testid="focus"]:not([hidden])')
            page.fill('[data-testid="focus-prompt"]', "typed in the dashboard")
            page.click('[data-testid="focus-send"]')
            page.wait_for_function("document.querySelector('[data-testid=\"focus-note\"]').textContent === 'sent'")
            wait_until(lambda: "typed in the dashboard" in prompts(c.records, "a1"), timeout=60,
                       what="the dashboard's prompt at the fake agent on h1")
            assert prompts(c.records, "a1") == ["hello a1", "second task", "typed in the dashboard"]
        finally:
            browser.close()


# -- remote tt logs -f and tt attach ------------------------------------------------------------
@pytest.mark.extended  # the host `logs` call itself is in the default slice (test_temporal_hosts)
def test_remote_logs_follow_prints_appended_lines_once_in_order(cluster_factory):
    import subprocess
    import sys

    c = cluster_factory()
    log = c.tmp / "h2" / "repo" / ".tutti" / "logs" / "a2.log"  # a2 lives on h2; nothing else writes it
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("old 1\nold 2\nold 3\n")
    proc = subprocess.Popen([sys.executable, "-m", "tutti", "logs", "-f", "a2", "-l", "2"], cwd=c.repo,
                            env=c.control.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        wait_until(lambda: len(out) >= 2, timeout=60, what="the last two lines")
        expected = ["old 2\n", "old 3\n"]
        with open(log, "a") as fh:
            for i in range(40):
                if i % 7 == 3:  # a line written in two parts, across follow calls
                    fh.write(f"line {i} first half")
                    fh.flush()
                    time.sleep(1.2)
                    fh.write(" second half\n")
                    expected.append(f"line {i} first half second half\n")
                else:
                    fh.write(f"line {i}\n")
                    expected.append(f"line {i}\n")
                fh.flush()
                time.sleep(0.05 if i % 10 else 1.1)
        wait_until(lambda: len(out) >= len(expected), timeout=60, what="every appended line")
        time.sleep(2.5)  # two more follow calls: nothing repeats
        assert out == expected
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err


def test_remote_attach_relays_the_pane_and_typed_lines_and_prints_ssh(cluster_factory):
    import shlex
    import socket
    import subprocess
    import sys
    import uuid

    c = cluster_factory()
    res = c.tt("send", "a1", "hello a1", "--auto-up", "--wait", "--timeout-secs", "90")
    assert res.returncode == 0, res.stdout + res.stderr
    res = c.tt("attach", "a1", "--print-ssh")
    assert res.returncode == 0, res.stderr
    session = "tutti-dist-a1"
    h1_socket = c.hosts["h1"].env["TUTTI_TMUX_SOCKET"]
    assert res.stdout.strip() == shlex.join(["ssh", "-t", socket.gethostname(), "tmux", "-L", h1_socket,
                                             "attach", "-t", session])
    assert subprocess.run(["tmux", "-L", h1_socket, "has-session", "-t", session]).returncode == 0

    # the relay, driven in a real tmux pane on a server of the test's own
    sock = f"t3-relay-{uuid.uuid4().hex[:8]}"
    argv = f"{shlex.quote(sys.executable)} -m tutti attach a1; echo RELAY-EXIT=$?; sleep 60"
    tmux = ["tmux", "-L", sock]
    try:
        subprocess.run([*tmux, "new-session", "-d", "-s", "op", "-x", "150", "-y", "40", "-c", str(c.repo), argv],
                       env=c.control.env, check=True)

        def pane() -> str:
            return subprocess.run([*tmux, "capture-pane", "-p", "-t", "op"], capture_output=True, text=True).stdout

        wait_until(lambda: "RELAY" in pane() and "hello a1" in pane() and "Done." in pane(), timeout=60,
                   what="the relayed pane")
        assert "live" in pane() and "on host 'h1'" in pane(), pane()
        subprocess.run([*tmux, "send-keys", "-t", "op", "-l", "typed through the relay"], check=True)
        subprocess.run([*tmux, "send-keys", "-t", "op", "Enter"], check=True)
        wait_until(lambda: "typed through the relay" in prompts(c.records, "a1"), timeout=60,
                   what="the typed line at the fake agent")
        assert prompts(c.records, "a1") == ["hello a1", "typed through the relay"]
        wait_until(lambda: pane().count("typed through the relay") >= 1 and "sent: typed" in pane(), timeout=60,
                   what="the relay's mirror showing the sent line")
        subprocess.run([*tmux, "send-keys", "-t", "op", "C-c"], check=True)
        wait_until(lambda: "RELAY-EXIT=0" in pane(), timeout=30, what="a clean exit on Ctrl-C")
        assert "Traceback" not in pane()
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)

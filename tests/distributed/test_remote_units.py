"""The remote operator's view without a Temporal server: which agents count as remote, the host's
log cursor (remote `tt logs -f`) and the ssh command of `tt attach --print-ssh`."""

from __future__ import annotations

from tutti.cli.remote_cmd import ssh_command
from tutti.distributed.remote import hosted
from tutti.ops.host_reads import MAX_BYTES, log_tail
from tutti.workspace import Workspace

CONFIG = ('[workspace]\nname = "r"\n\n[defaults]\nruntime = "fake"\n\n[engine]\nkind = "temporal"\n\n'
          '[[agent]]\nname = "pinned"\nhost = "h1"\n\n[[agent]]\nname = "labelled"\nhost_labels = ["gpu"]\n\n'
          '[[agent]]\nname = "here"\n')


def _ws(root) -> Workspace:
    from tutti.workspace import load_workspace_at

    (root / "tutti.toml").write_text(CONFIG)
    return load_workspace_at(root)


def test_remote_agents_are_pinned_or_placed_by_label(git_repo):
    from tutti.distributed.placement import record

    ws = _ws(git_repo)
    assert [hosted(ws, a) for a in ("pinned", "labelled", "here")] == ["h1", None, None]
    with ws.store.transaction() as conn:  # a host with the label took it
        record(conn, "labelled", "gpu-7", ["gpu"], "run-1")
    assert hosted(ws, "labelled") == "gpu-7"


def test_log_tail_cursor_gives_complete_lines_once(git_repo):
    ws = _ws(git_repo)
    log = ws.tutti_dir / "logs" / "pinned.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes("one\ntwo\nthrée\npart".encode())
    first = log_tail(ws, "pinned", offset=None, lines=2)
    assert first["lines"] == ["two", "thrée"] and first["offset"] == len("one\ntwo\nthrée\n".encode())
    assert log_tail(ws, "pinned", offset=first["offset"], lines=0)["lines"] == []  # "part" waits for its newline
    with open(log, "ab") as fh:
        fh.write(b"ial\nnext\n")
    more = log_tail(ws, "pinned", offset=first["offset"], lines=0)
    assert more["lines"] == ["partial", "next"] and more["offset"] == log.stat().st_size and not more["reset"]
    log.write_text("new\n")  # truncated (rotated) on the host
    again = log_tail(ws, "pinned", offset=more["offset"], lines=0)
    assert again["reset"] and again["lines"] == ["new"]
    log.write_bytes(b"x" * (MAX_BYTES + 10))  # one huge line cannot stall the follower
    huge = log_tail(ws, "pinned", offset=0, lines=0)
    assert len(huge["lines"]) == 1 and huge["offset"] == MAX_BYTES


def test_ssh_command_is_built_from_the_hosts_answer():
    info = {"hostname": "build-2", "socket": "tutti-x", "session": "tutti-ws-backend"}
    assert ssh_command(info) == "ssh -t build-2 tmux -L tutti-x attach -t tutti-ws-backend"
    assert ssh_command({**info, "socket": None}) == "ssh -t build-2 tmux attach -t tutti-ws-backend"

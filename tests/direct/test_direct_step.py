"""`tt run` executes prompt steps of provider agents through the API-direct loop, with the
prompt-step semantics: output_json (one re-ask), artifacts, run totals."""

from __future__ import annotations

import json

from .conftest import api_profile

WORKFLOW = """
[[workflow]]
name = "plan"

[[workflow.step]]
type = "prompt"
id = "plan"
agent = "planner"
text = "Write the plan as JSON to plan.json"
output_json = "plan.json"

[[workflow.step]]
type = "command"
id = "show"
run = "cat {{output.plan.path}}"
"""


def test_tt_run_executes_a_direct_prompt_step_and_reasks_once_for_output_json(
    direct_ws, model_server, git_repo, tt
):
    srv = model_server(
        {
            "turns": [
                {"text": "Here is my plan: two steps.", "usage": {"input_tokens": 1000, "output_tokens": 50}},
                {
                    "tool_calls": [
                        {"name": "write_file", "arguments": {"path": "plan.json", "content": '{"steps": 2}'}}
                    ],
                    "usage": {"input_tokens": 1100, "output_tokens": 30},
                },
                {"text": "Written.", "usage": {"input_tokens": 1200, "output_tokens": 5}},
            ]
        }
    )
    direct_ws('[[agent]]\nname = "planner"\nprovider = "main"\n', api_profile("main", srv), WORKFLOW)
    out = tt("run", "plan", "--json", cwd=git_repo, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads(out.stdout)
    run_id = data.get("run_id") or data.get("data", {}).get("run_id")
    assert run_id

    reqs = srv.requests()
    assert len(reqs) == 3
    reask = reqs[1].body["messages"][-1]
    assert (
        reask["role"] == "user"
        and "You returned without writing the required output file" in reask["content"]
    )

    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(git_repo)
    run = ws.store.query("SELECT * FROM runs WHERE run_id = ?", (run_id,))[0]
    assert run["status"] == "succeeded", run["status"]
    assert run["input_tokens"] == 3300 and run["output_tokens"] == 85
    assert run["cost_usd"] > 0
    evs = ws.store.read_events(0, run_id=run_id, kind_prefix="direct.", limit=1000)
    assert [e.kind for e in evs].count("direct.model_call") == 3
    assert [e.kind for e in evs].count("direct.run.completed") == 1
    assert all(e.step and e.step.startswith("001") for e in evs)
    # the plan landed in the agent's worktree and was handed to the next step as an output
    assert json.loads((ws.worktree_path("planner") / "plan.json").read_text()) == {"steps": 2}
    outputs = ws.state_dir / "workflow-outputs" / run_id / "plan.json"
    assert json.loads(outputs.read_text()) == {"steps": 2}

    replay = tt("replay", run_id, cwd=git_repo)
    assert replay.returncode == 0 and "tool write_file" in replay.stdout


def test_direct_step_fails_when_output_json_never_appears(direct_ws, model_server, git_repo, tt):
    srv = model_server({"turns": [{"text": "no file"}, {"text": "still no file"}]})
    direct_ws(
        '[[agent]]\nname = "planner"\nprovider = "main"\nworktree = false\n',
        api_profile("main", srv),
        WORKFLOW,
    )
    out = tt("run", "plan", cwd=git_repo, timeout=180)
    assert out.returncode != 0
    assert "retry did not produce output" in out.stdout + out.stderr
    assert len(srv.requests()) == 2  # exactly one re-ask


ARTIFACT_WORKFLOW = """
[[workflow]]
name = "design"

[[workflow.step]]
type = "prompt"
id = "design"
agent = "writer"
text = "Write the design doc under docs/"
artifact_glob = "docs/*.md"
artifact_name = "design_doc"

[[workflow.step]]
type = "command"
run = "test -s {{output.design_doc.path}}"
"""


def test_direct_flag_routes_a_cli_agent_with_a_provider_and_captures_artifacts(
    direct_ws, model_server, git_repo, tt
):
    srv = model_server(
        {
            "turns": [
                {
                    "tool_calls": [
                        {
                            "name": "write_file",
                            "arguments": {"path": "docs/design.md", "content": "# Design\n"},
                        }
                    ]
                },
                {"text": "Design written."},
            ]
        }
    )
    direct_ws(
        '[[agent]]\nname = "writer"\nruntime = "claude-code"\nprovider = "main"\n',
        api_profile("main", srv),
        ARTIFACT_WORKFLOW,
    )
    out = tt("run", "design", "--direct", "--json", cwd=git_repo, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    run_id = json.loads(out.stdout)["run_id"]
    from tutti.workspace import load_workspace_at

    ws = load_workspace_at(git_repo)
    raw = ws.state_dir / "workflow-outputs" / run_id / "design_doc.raw"
    assert raw.read_text() == "# Design\n"
    assert json.loads((raw.parent / "design_doc.json").read_text()) == "# Design\n"
    assert len(srv.requests()) == 2

"""Request handlers of the scripted GitHub: one function per REST route, plus GraphQL.

GraphQL is answered by recognising the operation's fields (`reviewThreads`,
`resolveReviewThread`, `unresolveReviewThread`, `viewer`) and reading the variables — the
subset Tutti and common bots send, not a general GraphQL engine.
"""

from __future__ import annotations

import re
import sys
from typing import Any
from urllib.parse import unquote

from tutti.testing.forge_github import (
    Conflict,
    GitHubState,
    NotFound,
    Reply,
    Request,
    Unprocessable,
    _now,
    _page,
    _rev,
)


def _issue(gh: GitHubState, repo: str, n: str | int) -> dict:
    issue = gh.repo(repo)["issues"].get(str(n))
    if issue is None:
        raise NotFound(f"{repo}#{n}")
    return issue


def _pr(gh: GitHubState, repo: str, n: str | int) -> dict:
    issue = _issue(gh, repo, n)
    if not issue["pr"]:
        raise NotFound(f"{repo} pull #{n}")
    return issue


def get_user(gh: GitHubState, req: Request) -> Reply:
    return Reply(200, {"login": req.user["login"], "type": req.user.get("type", "User"), "id": abs(hash(req.user["login"])) % 10**7})


def get_repo(gh: GitHubState, req: Request, repo: str) -> Reply:
    meta = dict(gh.repo(repo)["meta"])
    meta["html_url"] = f"{req.base_url}/{repo}"
    return Reply(200, meta)


# -- issues ----------------------------------------------------------------------------------
def list_issues(gh: GitHubState, req: Request, repo: str) -> Reply:
    q = req.query
    state, wanted = q.get("state", "open"), [w for w in q.get("labels", "").split(",") if w]
    ms = q.get("milestone")
    items = []
    for issue in gh.repo(repo)["issues"].values():
        if state != "all" and issue["state"] != state:
            continue
        if any(w not in issue["labels"] for w in wanted):
            continue
        if ms == "none" and issue["milestone"] is not None:
            continue
        if ms not in (None, "*", "none") and (issue["milestone"] is None or str(issue["milestone"]["number"]) != ms):
            continue
        if ms == "*" and issue["milestone"] is None:
            continue
        if q.get("creator") and issue["user"]["login"] != q["creator"]:
            continue
        items.append(issue)
    items.sort(key=lambda i: i["number"], reverse=q.get("direction", "desc") == "desc")
    return Reply(200, [gh.issue_json(repo, i, req.base_url) for i in _page(items, q)])


def create_issue(gh: GitHubState, req: Request, repo: str) -> Reply:
    body = req.body or {}
    if not body.get("title"):
        raise Unprocessable("title is required")
    issue = gh.create_issue(repo, body["title"], body=body.get("body") or "", labels=body.get("labels"),
                            milestone=body.get("milestone"), user=req.user)
    return Reply(201, gh.issue_json(repo, issue, req.base_url))


def get_issue(gh: GitHubState, req: Request, repo: str, n: str) -> Reply:
    return Reply(200, gh.issue_json(repo, _issue(gh, repo, n), req.base_url))


def update_issue(gh: GitHubState, req: Request, repo: str, n: str) -> Reply:
    issue, body = _issue(gh, repo, n), req.body or {}
    for key in ("title", "body"):
        if key in body:
            issue[key] = body[key]
    if "labels" in body:
        issue["labels"] = [gh._label(gh.repo(repo), name)["name"] for name in body["labels"]]
    if body.get("state") in ("open", "closed") and body["state"] != issue["state"]:
        issue["state"] = body["state"]
        issue["closed_at"] = _now() if body["state"] == "closed" else None
        issue["state_reason"] = body.get("state_reason") or ("completed" if body["state"] == "closed" else "reopened")
    issue["updated_at"] = _now()
    return Reply(200, gh.issue_json(repo, issue, req.base_url))


def add_labels(gh: GitHubState, req: Request, repo: str, n: str) -> Reply:
    issue = _issue(gh, repo, n)
    names = req.body.get("labels", []) if isinstance(req.body, dict) else list(req.body or [])
    for name in names:
        gh._label(gh.repo(repo), name)
        if name not in issue["labels"]:
            issue["labels"].append(name)
    return Reply(200, [gh.repo(repo)["labels"][name] for name in issue["labels"]])


def remove_label(gh: GitHubState, req: Request, repo: str, n: str, label: str) -> Reply:
    issue = _issue(gh, repo, n)
    if label not in issue["labels"]:
        raise NotFound(f"label {label} on {repo}#{n}")
    issue["labels"].remove(label)
    return Reply(200, [gh.repo(repo)["labels"][name] for name in issue["labels"]])


# -- comments --------------------------------------------------------------------------------
def _comment_json(repo: str, c: dict, base: str, kind: str = "issues") -> dict:
    out = dict(c)
    out["html_url"] = f"{base}/{repo}/{kind}/{c['issue']}#issuecomment-{c['id']}"
    out["issue_url"] = f"{base}/repos/{repo}/issues/{c['issue']}"
    return out


def list_comments(gh: GitHubState, req: Request, repo: str, n: str) -> Reply:
    _issue(gh, repo, n)
    items = sorted((c for c in gh.repo(repo)["comments"].values() if c["issue"] == int(n)), key=lambda c: c["id"])
    return Reply(200, [_comment_json(repo, c, req.base_url) for c in _page(items, req.query)])


def create_comment(gh: GitHubState, req: Request, repo: str, n: str) -> Reply:
    _issue(gh, repo, n)
    if not (req.body or {}).get("body"):
        raise Unprocessable("body is required")
    gh.data["next_comment_id"] += 1
    cid = gh.data["next_comment_id"]
    c = {"id": cid, "issue": int(n), "body": req.body["body"], "user": dict(req.user), "created_at": _now(),
         "updated_at": _now(), "node_id": gh._node("IC")}
    gh.repo(repo)["comments"][str(cid)] = c
    return Reply(201, _comment_json(repo, c, req.base_url))


def _comment(gh: GitHubState, repo: str, cid: str) -> dict:
    c = gh.repo(repo)["comments"].get(str(cid))
    if c is None:
        raise NotFound(f"comment {cid}")
    return c


def get_comment(gh: GitHubState, req: Request, repo: str, id: str) -> Reply:
    return Reply(200, _comment_json(repo, _comment(gh, repo, id), req.base_url))


def update_comment(gh: GitHubState, req: Request, repo: str, id: str) -> Reply:
    c = _comment(gh, repo, id)
    c["body"], c["updated_at"] = (req.body or {}).get("body", c["body"]), _now()
    return Reply(200, _comment_json(repo, c, req.base_url))


def delete_comment(gh: GitHubState, req: Request, repo: str, id: str) -> Reply:
    _comment(gh, repo, id)
    del gh.repo(repo)["comments"][str(id)]
    return Reply(204)


# -- labels, milestones ------------------------------------------------------------------------
def list_labels(gh: GitHubState, req: Request, repo: str) -> Reply:
    return Reply(200, _page(list(gh.repo(repo)["labels"].values()), req.query))


def create_label(gh: GitHubState, req: Request, repo: str) -> Reply:
    name = (req.body or {}).get("name")
    if not name:
        raise Unprocessable("name is required")
    if name in gh.repo(repo)["labels"]:
        raise Unprocessable(f"label {name} already_exists")
    label = gh._label(gh.repo(repo), name)
    label.update({k: v for k, v in req.body.items() if k in ("color", "description")})
    return Reply(201, label)


def list_milestones(gh: GitHubState, req: Request, repo: str) -> Reply:
    state = req.query.get("state", "open")
    items = [m for m in gh.repo(repo)["milestones"].values() if state == "all" or m["state"] == state]
    return Reply(200, sorted(items, key=lambda m: m["number"]))


def create_milestone(gh: GitHubState, req: Request, repo: str) -> Reply:
    title = (req.body or {}).get("title")
    if not title:
        raise Unprocessable("title is required")
    ms_all = gh.repo(repo)["milestones"]
    ms = {"number": len(ms_all) + 1, "title": title, "state": "open", "description": req.body.get("description", "")}
    ms_all[str(ms["number"])] = ms
    return Reply(201, ms)


# -- pull requests ---------------------------------------------------------------------------
def list_pulls(gh: GitHubState, req: Request, repo: str) -> Reply:
    q = req.query
    state = q.get("state", "open")
    head = q.get("head", "").split(":", 1)[-1]
    items = []
    for issue in gh.repo(repo)["issues"].values():
        pr = issue["pr"]
        if not pr or (state != "all" and issue["state"] != state):
            continue
        if (head and pr["head"] != head) or (q.get("base") and pr["base"] != q["base"]):
            continue
        items.append(issue)
    items.sort(key=lambda i: i["number"], reverse=q.get("direction", "desc") == "desc")
    return Reply(200, [gh.pr_json(repo, i, req.base_url) for i in _page(items, q)])


def create_pull(gh: GitHubState, req: Request, repo: str) -> Reply:
    body = req.body or {}
    head, base = str(body.get("head", "")).split(":", 1)[-1], body.get("base") or gh.repo(repo)["meta"]["default_branch"]
    git_dir = gh.git_dir(repo)
    if not head or _rev(git_dir, head) is None:
        raise Unprocessable(f"head branch '{head}' does not exist")
    for issue in gh.repo(repo)["issues"].values():
        if issue["pr"] and issue["state"] == "open" and issue["pr"]["head"] == head and issue["pr"]["base"] == base:
            raise Unprocessable(f"A pull request already exists for {head}.")
    title = body.get("title") or head
    issue = gh.create_issue(repo, title, body=body.get("body") or "", user=req.user,
                            pr={"head": head, "base": base, "merged": False})
    return Reply(201, gh.pr_json(repo, issue, req.base_url))


def get_pull(gh: GitHubState, req: Request, repo: str, n: str) -> Reply:
    return Reply(200, gh.pr_json(repo, _pr(gh, repo, n), req.base_url))


def update_pull(gh: GitHubState, req: Request, repo: str, n: str) -> Reply:
    _pr(gh, repo, n)
    update_issue(gh, req, repo, n)
    return get_pull(gh, req, repo, n)


def merge_pull(gh: GitHubState, req: Request, repo: str, n: str) -> Reply:
    issue = _pr(gh, repo, n)
    if issue["pr"]["merged"] or issue["state"] != "open":
        return Reply(405, {"message": "Pull Request is not mergeable"})
    body = req.body or {}
    expected = body.get("sha")
    head_sha = _rev(gh.git_dir(repo), issue["pr"]["head"])
    if expected and expected != head_sha:
        return Reply(409, {"message": "Head branch was modified. Review and try the merge again."})
    blocked = _protection_blocks(gh, repo, issue["pr"]["base"], head_sha)
    if blocked:
        return Reply(405, {"message": f"Required status check \"{blocked}\" is expected."})
    sha = gh.merge(repo, issue, body.get("merge_method", "merge"), body.get("commit_title"))
    issue["pr"].update(merged=True, merged_at=_now(), merge_commit_sha=sha)
    issue.update(state="closed", closed_at=_now())
    return Reply(200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


def _protection_blocks(gh: GitHubState, repo: str, base: str, sha: str | None) -> str | None:
    required = (gh.repo(repo)["protection"].get(base) or {}).get("contexts", [])
    states = _check_states(gh, repo, sha)
    return next((ctx for ctx in required if states.get(ctx) != "success"), None)


# -- reviews, review comments, threads -----------------------------------------------------------
def list_reviews(gh: GitHubState, req: Request, repo: str, n: str) -> Reply:
    _pr(gh, repo, n)
    return Reply(200, [r for r in gh.repo(repo)["reviews"] if r["pull"] == int(n)])


def create_review(gh: GitHubState, req: Request, repo: str, n: str) -> Reply:
    issue, body = _pr(gh, repo, n), req.body or {}
    event = body.get("event", "COMMENT")
    state = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}.get(event)
    if state is None:
        raise Unprocessable(f"unknown review event {event}")
    gh.data["next_comment_id"] += 1
    review = {"id": gh.data["next_comment_id"], "pull": int(n), "state": state, "body": body.get("body", ""),
              "user": dict(req.user), "submitted_at": _now(), "node_id": gh._node("PRR"),
              "commit_id": _rev(gh.git_dir(repo), issue["pr"]["head"])}
    gh.repo(repo)["reviews"].append(review)
    for c in body.get("comments") or []:
        _add_review_comment(gh, req, repo, int(n), {**c, "review_id": review["id"]})
    return Reply(200, review)


def _add_review_comment(gh: GitHubState, req: Request, repo: str, n: int, body: dict) -> dict:
    r = gh.repo(repo)
    gh.data["next_comment_id"] += 1
    cid = gh.data["next_comment_id"]
    reply_to = body.get("in_reply_to")
    if reply_to is not None:
        parent = r["review_comments"].get(str(reply_to))
        if parent is None:
            raise NotFound(f"review comment {reply_to}")
        thread_id = parent["thread_id"]
    else:
        thread_id = gh._node("PRRT")
        r["threads"][thread_id] = {"id": thread_id, "pull": n, "isResolved": False, "path": body.get("path"),
                                   "line": body.get("line")}
    c = {"id": cid, "pull": n, "body": body.get("body", ""), "path": body.get("path"), "line": body.get("line"),
         "user": dict(req.user), "created_at": _now(), "in_reply_to_id": reply_to, "thread_id": thread_id,
         "pull_request_review_id": body.get("review_id"), "node_id": gh._node("PRRC")}
    r["review_comments"][str(cid)] = c
    return c


def list_review_comments(gh: GitHubState, req: Request, repo: str, n: str) -> Reply:
    _pr(gh, repo, n)
    items = sorted((c for c in gh.repo(repo)["review_comments"].values() if c["pull"] == int(n)), key=lambda c: c["id"])
    return Reply(200, _page(items, req.query))


def create_review_comment(gh: GitHubState, req: Request, repo: str, n: str) -> Reply:
    _pr(gh, repo, n)
    if not (req.body or {}).get("body"):
        raise Unprocessable("body is required")
    return Reply(201, _add_review_comment(gh, req, repo, int(n), req.body))


def reply_review_comment(gh: GitHubState, req: Request, repo: str, n: str, id: str) -> Reply:
    _pr(gh, repo, n)
    if not (req.body or {}).get("body"):
        raise Unprocessable("body is required")
    return Reply(201, _add_review_comment(gh, req, repo, int(n), {**req.body, "in_reply_to": int(id)}))


def get_branch(gh: GitHubState, req: Request, repo: str, branch: str) -> Reply:
    sha = _rev(gh.git_dir(repo), branch)
    if sha is None:
        raise NotFound(f"branch {branch}")
    return Reply(200, {"name": branch, "commit": {"sha": sha}, "protected": branch in gh.repo(repo)["protection"]})


# -- checks and statuses ------------------------------------------------------------------------
def _sha(gh: GitHubState, repo: str, ref: str) -> str:
    sha = _rev(gh.git_dir(repo), ref)
    if sha is None:
        raise NotFound(f"ref {ref}")
    return sha


def create_check_run(gh: GitHubState, req: Request, repo: str) -> Reply:
    body = req.body or {}
    if not body.get("name") or not body.get("head_sha"):
        raise Unprocessable("name and head_sha are required")
    runs = gh.repo(repo)["check_runs"]
    run = {"id": len(runs) + 1, "name": body["name"], "head_sha": _sha(gh, repo, body["head_sha"]),
           "status": body.get("status", "completed" if body.get("conclusion") else "queued"),
           "conclusion": body.get("conclusion"), "started_at": _now(), "output": body.get("output") or {}}
    runs.append(run)
    return Reply(201, run)


def update_check_run(gh: GitHubState, req: Request, repo: str, id: str) -> Reply:
    run = next((r for r in gh.repo(repo)["check_runs"] if r["id"] == int(id)), None)
    if run is None:
        raise NotFound(f"check run {id}")
    body = req.body or {}
    run.update({k: body[k] for k in ("status", "conclusion", "output") if k in body})
    if body.get("conclusion"):
        run["status"] = "completed"
    return Reply(200, run)


def _latest_runs(gh: GitHubState, repo: str, sha: str | None) -> list[dict]:
    latest: dict[str, dict] = {}
    for run in gh.repo(repo)["check_runs"]:
        if run["head_sha"] == sha:
            latest[run["name"]] = run
    return list(latest.values())


def list_check_runs(gh: GitHubState, req: Request, repo: str, ref: str) -> Reply:
    runs = _latest_runs(gh, repo, _sha(gh, repo, ref))
    return Reply(200, {"total_count": len(runs), "check_runs": runs})


def create_status(gh: GitHubState, req: Request, repo: str, sha: str) -> Reply:
    body = req.body or {}
    if body.get("state") not in ("error", "failure", "pending", "success"):
        raise Unprocessable("state must be error, failure, pending or success")
    st = {"sha": _sha(gh, repo, sha), "state": body["state"], "context": body.get("context", "default"),
          "description": body.get("description"), "created_at": _now()}
    gh.repo(repo)["statuses"].append(st)
    return Reply(201, st)


def _check_states(gh: GitHubState, repo: str, sha: str | None) -> dict[str, str]:
    """context/check name -> success|failure|pending, latest wins."""
    out: dict[str, str] = {}
    for st in gh.repo(repo)["statuses"]:
        if st["sha"] == sha:
            out[st["context"]] = "success" if st["state"] == "success" else ("pending" if st["state"] == "pending" else "failure")
    for run in _latest_runs(gh, repo, sha):
        if run["status"] != "completed":
            out[run["name"]] = "pending"
        else:
            out[run["name"]] = "success" if run["conclusion"] in ("success", "neutral", "skipped") else "failure"
    return out


def combined_status(gh: GitHubState, req: Request, repo: str, ref: str) -> Reply:
    sha = _sha(gh, repo, ref)
    latest: dict[str, dict] = {}
    for st in gh.repo(repo)["statuses"]:
        if st["sha"] == sha:
            latest[st["context"]] = st
    states = [s["state"] for s in latest.values()]
    state = ("failure" if any(s in ("failure", "error") for s in states) else
             "pending" if not states or "pending" in states else "success")
    return Reply(200, {"state": state, "sha": sha, "statuses": list(latest.values()), "total_count": len(latest)})


def required_checks(gh: GitHubState, req: Request, repo: str, branch: str) -> Reply:
    prot = gh.repo(repo)["protection"].get(branch)
    if prot is None:
        raise NotFound("Branch not protected")
    return Reply(200, {"strict": prot.get("strict", False), "contexts": prot["contexts"],
                       "checks": [{"context": c, "app_id": None} for c in prot["contexts"]]})


def put_protection(gh: GitHubState, req: Request, repo: str, branch: str) -> Reply:
    rsc = (req.body or {}).get("required_status_checks") or {}
    contexts = list(rsc.get("contexts") or [c.get("context") for c in rsc.get("checks") or []])
    gh.repo(repo)["protection"][branch] = {"strict": bool(rsc.get("strict")), "contexts": contexts}
    return Reply(200, {"required_status_checks": {"strict": bool(rsc.get("strict")), "contexts": contexts}})


# -- GraphQL ---------------------------------------------------------------------------------
def graphql(gh: GitHubState, req: Request) -> Reply:
    body = req.body or {}
    query, variables = str(body.get("query", "")), body.get("variables") or {}
    if "resolveReviewThread" in query or "unresolveReviewThread" in query:
        resolved = "unresolveReviewThread" not in query
        thread_id = (variables.get("input") or {}).get("threadId") or variables.get("threadId") or variables.get("id")
        for r in gh.data["repos"].values():
            if thread_id in r["threads"]:
                r["threads"][thread_id]["isResolved"] = resolved
                key = "resolveReviewThread" if resolved else "unresolveReviewThread"
                return Reply(200, {"data": {key: {"thread": {"id": thread_id, "isResolved": resolved}}}})
        return Reply(200, {"data": None, "errors": [{"type": "NOT_FOUND", "message": f"Could not resolve to a node with the global id of '{thread_id}'"}]})
    if "reviewThreads" in query:
        import re

        m = re.search(r"reviewThreads\(\s*first:\s*(\d+)", query)
        return Reply(200, _review_threads(gh, {"first": int(m.group(1)) if m else None, **variables}))
    if "viewer" in query:
        return Reply(200, {"data": {"viewer": {"login": req.user["login"]}}})
    return Reply(200, {"data": None, "errors": [{"message": "this scripted forge answers reviewThreads, "
                                                           "resolveReviewThread, unresolveReviewThread and viewer"}]})


def _review_threads(gh: GitHubState, v: dict[str, Any]) -> dict:
    full = f"{v.get('owner')}/{v.get('name')}"
    try:
        repo = gh.repo(full)
        _pr(gh, full, v.get("number"))
    except NotFound:
        return {"data": {"repository": None}, "errors": [{"type": "NOT_FOUND", "message": f"Could not resolve {full}#{v.get('number')}"}]}
    threads = [t for t in repo["threads"].values() if t["pull"] == int(v["number"])]
    first, after = int(v.get("first") or 100), int(v.get("after") or 0)
    page = threads[after: after + first]
    nodes = []
    for t in page:
        comments = [{"id": c["node_id"], "databaseId": c["id"], "body": c["body"], "path": c["path"],
                     "author": {"login": c["user"]["login"]}} for c in repo["review_comments"].values() if c["thread_id"] == t["id"]]
        nodes.append({"id": t["id"], "isResolved": t["isResolved"], "isOutdated": False, "path": t["path"],
                      "line": t["line"], "comments": {"nodes": comments}})
    has_next = after + first < len(threads)
    info = {"hasNextPage": has_next, "endCursor": str(after + first) if has_next else None}
    return {"data": {"repository": {"pullRequest": {"reviewThreads": {"totalCount": len(threads), "pageInfo": info,
                                                                      "nodes": nodes}}}}}


# -- REST routes -----------------------------------------------------------------------------
R = r"/repos/(?P<repo>[^/]+/[^/]+)"


def _routes() -> list[tuple[str, re.Pattern, Any]]:
    api = sys.modules[__name__]
    table = [
        ("GET", "/user", api.get_user), ("GET", R, api.get_repo),
        ("GET", R + "/issues", api.list_issues), ("POST", R + "/issues", api.create_issue),
        ("GET", R + r"/issues/(?P<n>\d+)", api.get_issue), ("PATCH", R + r"/issues/(?P<n>\d+)", api.update_issue),
        ("POST", R + r"/issues/(?P<n>\d+)/labels", api.add_labels),
        ("DELETE", R + r"/issues/(?P<n>\d+)/labels/(?P<label>[^/]+)", api.remove_label),
        ("GET", R + r"/issues/(?P<n>\d+)/comments", api.list_comments),
        ("POST", R + r"/issues/(?P<n>\d+)/comments", api.create_comment),
        ("GET", R + r"/issues/comments/(?P<id>\d+)", api.get_comment),
        ("PATCH", R + r"/issues/comments/(?P<id>\d+)", api.update_comment),
        ("DELETE", R + r"/issues/comments/(?P<id>\d+)", api.delete_comment),
        ("GET", R + "/labels", api.list_labels), ("POST", R + "/labels", api.create_label),
        ("GET", R + "/milestones", api.list_milestones), ("POST", R + "/milestones", api.create_milestone),
        ("GET", R + "/pulls", api.list_pulls), ("POST", R + "/pulls", api.create_pull),
        ("GET", R + r"/pulls/(?P<n>\d+)", api.get_pull), ("PATCH", R + r"/pulls/(?P<n>\d+)", api.update_pull),
        ("PUT", R + r"/pulls/(?P<n>\d+)/merge", api.merge_pull),
        ("GET", R + r"/pulls/(?P<n>\d+)/reviews", api.list_reviews),
        ("POST", R + r"/pulls/(?P<n>\d+)/reviews", api.create_review),
        ("GET", R + r"/pulls/(?P<n>\d+)/comments", api.list_review_comments),
        ("POST", R + r"/pulls/(?P<n>\d+)/comments", api.create_review_comment),
        ("POST", R + r"/pulls/(?P<n>\d+)/comments/(?P<id>\d+)/replies", api.reply_review_comment),
        ("POST", R + "/check-runs", api.create_check_run),
        ("PATCH", R + r"/check-runs/(?P<id>\d+)", api.update_check_run),
        ("GET", R + r"/commits/(?P<ref>.+)/check-runs", api.list_check_runs),
        ("GET", R + r"/commits/(?P<ref>.+)/status", api.combined_status),
        ("POST", R + r"/statuses/(?P<sha>[0-9a-f]+)", api.create_status),
        ("GET", R + r"/branches/(?P<branch>.+)/protection/required_status_checks", api.required_checks),
        ("PUT", R + r"/branches/(?P<branch>.+)/protection", api.put_protection),
        ("GET", R + r"/branches/(?P<branch>.+)", api.get_branch),  # after the protection routes: a branch may contain '/'
        ("POST", "/graphql", api.graphql),
    ]
    return [(m, re.compile("^" + p + "$"), h) for m, p, h in table]


ROUTES = _routes()


def dispatch(gh: GitHubState, req: Request) -> Reply | None:
    """The matching route's reply, or None when no route matches (the server answers 404)."""
    for method, pattern, handler in ROUTES:
        m = pattern.match(req.path)
        if m and method == req.method:
            params = {k: unquote(v) for k, v in m.groupdict().items()}
            try:
                return handler(gh, req, **params)
            except NotFound as exc:
                return Reply(404, {"message": "Not Found", "detail": str(exc)})
            except Unprocessable as exc:
                return Reply(422, {"message": "Validation Failed", "errors": [{"message": str(exc)}]})
            except Conflict as exc:
                return Reply(405 if "conflict" in str(exc).lower() else 409, {"message": str(exc)})
    return None

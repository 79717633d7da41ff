"""The Linear (GraphQL) and Jira (REST v3) halves of the scripted forge.

Linear: `POST /linear/graphql` answers `issues(filter:)`, `issue(id:)`, `workflowStates`,
`commentCreate` and `issueUpdate` — recognised by field name, arguments read from the
variables (`filter` as an IssueFilter with team/state/labels, `id`, `input`). Jira: `/jira/rest/api/3/search`
(GET `?jql=` or POST, also `/search/jql`) with a JQL subset (`project =`, `status =|in|!=`,
`statusCategory =|!=`, `labels =|in`, `AND`, `ORDER BY created ASC|DESC`), `issue/{key}`,
`issue/{key}/comment`, `issue/{key}/transitions`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from tutti.testing.forge_github import Reply, Request


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


# -- Linear ----------------------------------------------------------------------------------
LINEAR_STATES = [("Backlog", "backlog"), ("Todo", "unstarted"), ("In Progress", "started"), ("Done", "completed"),
                 ("Canceled", "canceled")]


class LinearState:
    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data = data or {"issues": {}, "comments": [], "next": {}}

    def add_issue(self, team: str, title: str, *, description: str = "", labels: list[str] | None = None,
                  state: str = "Todo", creator: str = "linear-user") -> dict[str, Any]:
        n = self.data["next"].get(team, 0) + 1
        self.data["next"][team] = n
        ident = f"{team}-{n}"
        issue = {"id": f"lin_{team.lower()}_{n}", "identifier": ident, "title": title, "description": description,
                 "url": f"https://linear.app/acme/issue/{ident}", "createdAt": _now(), "team": {"key": team},
                 "creator": {"name": creator}, "labels": list(labels or []), "state": state}
        self.data["issues"][issue["id"]] = issue
        return issue

    def _node(self, issue: dict) -> dict:
        kind = dict(LINEAR_STATES).get(issue["state"], "unstarted")
        return {**issue, "labels": {"nodes": [{"name": n} for n in issue["labels"]]},
                "state": {"id": f"state_{issue['state'].replace(' ', '_').lower()}", "name": issue["state"], "type": kind}}

    def _find(self, ref: str | None) -> dict | None:
        return next((i for i in self.data["issues"].values() if ref in (i["id"], i["identifier"])), None)

    def handle(self, req: Request) -> Reply | None:
        if req.path != "/linear/graphql" or req.method != "POST":
            return None
        query, v = str((req.body or {}).get("query", "")), (req.body or {}).get("variables") or {}
        if "commentCreate" in query:
            inp = v.get("input") or {}
            issue = self._find(inp.get("issueId"))
            if issue is None:
                return Reply(200, {"data": None, "errors": [{"message": "Entity not found: Issue"}]})
            comment = {"id": f"com_{len(self.data['comments']) + 1}", "issueId": issue["id"], "body": inp.get("body", ""),
                       "createdAt": _now(), "user": req.user["login"]}
            self.data["comments"].append(comment)
            return Reply(200, {"data": {"commentCreate": {"success": True, "comment": {"id": comment["id"]}}}})
        if "issueUpdate" in query:
            issue = self._find(v.get("id"))
            if issue is None:
                return Reply(200, {"data": None, "errors": [{"message": "Entity not found: Issue"}]})
            state_id = (v.get("input") or {}).get("stateId", "")
            name = next((n for n, _ in LINEAR_STATES if f"state_{n.replace(' ', '_').lower()}" == state_id), None)
            if name is None:
                return Reply(200, {"data": None, "errors": [{"message": f"Entity not found: WorkflowState {state_id}"}]})
            issue["state"] = name
            return Reply(200, {"data": {"issueUpdate": {"success": True, "issue": self._node(issue)}}})
        if "workflowStates" in query:
            nodes = [{"id": f"state_{n.replace(' ', '_').lower()}", "name": n, "type": t} for n, t in LINEAR_STATES]
            return Reply(200, {"data": {"workflowStates": {"nodes": nodes}}})
        if re.search(r"\bissue\s*\(", query):
            issue = self._find(v.get("id"))
            return Reply(200, {"data": {"issue": self._node(issue) if issue else None}})
        if "issues" in query:
            return Reply(200, {"data": {"issues": self._issues(v)}})
        return Reply(200, {"data": None, "errors": [{"message": "unsupported query for this scripted Linear"}]})

    def _issues(self, v: dict[str, Any]) -> dict[str, Any]:
        filt = v.get("filter") or {}  # IssueFilter: team.key.eq, state.name.in | state.type.in, labels.name.in
        team = v.get("teamKey") or ((filt.get("team") or {}).get("key") or {}).get("eq")
        states = v.get("states") or ((filt.get("state") or {}).get("name") or {}).get("in")
        labels = v.get("labels") or ((filt.get("labels") or {}).get("name") or {}).get("in") or []
        kinds = v.get("stateTypes") or ((filt.get("state") or {}).get("type") or {}).get("in") \
            or (None if states else ["backlog", "unstarted"])
        out = []
        for issue in self.data["issues"].values():
            if team and issue["team"]["key"] != team:
                continue
            if states and issue["state"] not in states:
                continue
            if kinds and dict(LINEAR_STATES).get(issue["state"]) not in kinds:
                continue
            if any(label not in issue["labels"] for label in labels):
                continue
            out.append(self._node(issue))
        out.sort(key=lambda i: (i["createdAt"], i["identifier"]))
        first = int(v.get("first") or 50)
        return {"nodes": out[:first], "pageInfo": {"hasNextPage": len(out) > first, "endCursor": None}}


# -- Jira ------------------------------------------------------------------------------------
JIRA_STATUSES = {"To Do": ("new", "To Do"), "In Progress": ("indeterminate", "In Progress"), "Done": ("done", "Done")}
TRANSITIONS = [{"id": "11", "name": "To Do", "to": "To Do"}, {"id": "21", "name": "In Progress", "to": "In Progress"},
               {"id": "31", "name": "Done", "to": "Done"}]
_JIRA = re.compile(r"^/jira/rest/api/[23]/(?P<rest>.+)$")


class JiraState:
    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data = data or {"issues": {}, "next": {}}

    def add_issue(self, project: str, summary: str, *, description: str = "", labels: list[str] | None = None,
                  status: str = "To Do", reporter: str = "jira-user") -> dict[str, Any]:
        n = self.data["next"].get(project, 0) + 1
        self.data["next"][project] = n
        key = f"{project}-{n}"
        issue = {"id": str(10000 + len(self.data["issues"]) + 1), "key": key, "summary": summary, "description": description,
                 "labels": list(labels or []), "status": status, "project": project, "created": _now(),
                 "reporter": reporter, "comments": []}
        self.data["issues"][key] = issue
        return issue

    def _json(self, issue: dict, base: str) -> dict:
        cat_key, cat_name = JIRA_STATUSES.get(issue["status"], ("new", "To Do"))
        desc = _adf(issue["description"]) if issue["description"] else None
        return {"id": issue["id"], "key": issue["key"], "self": f"{base}/jira/rest/api/3/issue/{issue['id']}",
                "fields": {"summary": issue["summary"], "description": desc, "labels": issue["labels"],
                           "created": issue["created"], "project": {"key": issue["project"]},
                           "reporter": {"displayName": issue["reporter"]},
                           "status": {"name": issue["status"], "statusCategory": {"key": cat_key, "name": cat_name}}}}

    def handle(self, req: Request) -> Reply | None:
        m = _JIRA.match(req.path)
        if not m:
            return None
        rest = m.group("rest")
        if rest in ("search", "search/jql"):
            jql = req.query.get("jql") if req.method == "GET" else (req.body or {}).get("jql")
            try:
                issues = self.search(jql or "")
            except ValueError as exc:
                return Reply(400, {"errorMessages": [str(exc)], "errors": {}})
            limit = int(req.query.get("maxResults") or (req.body or {}).get("maxResults") or 50)
            return Reply(200, {"issues": [self._json(i, req.base_url) for i in issues[:limit]], "total": len(issues),
                               "maxResults": limit, "startAt": 0, "isLast": len(issues) <= limit})
        parts = rest.split("/")
        if parts[0] != "issue" or len(parts) < 2:
            return None
        issue = self.data["issues"].get(parts[1]) or next((i for i in self.data["issues"].values() if i["id"] == parts[1]), None)
        if issue is None:
            return Reply(404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}})
        sub = parts[2] if len(parts) > 2 else ""
        if sub == "" and req.method == "GET":
            return Reply(200, self._json(issue, req.base_url))
        if sub == "comment" and req.method == "POST":
            comment = {"id": str(20000 + sum(len(i["comments"]) for i in self.data["issues"].values()) + 1),
                       "body": (req.body or {}).get("body"), "author": {"displayName": req.user["login"]}, "created": _now()}
            issue["comments"].append(comment)
            return Reply(201, comment)
        if sub == "comment" and req.method == "GET":
            return Reply(200, {"comments": issue["comments"], "total": len(issue["comments"])})
        if sub == "transitions" and req.method == "GET":
            return Reply(200, {"transitions": [{"id": t["id"], "name": t["name"], "to": {"name": t["to"]}} for t in TRANSITIONS]})
        if sub == "transitions" and req.method == "POST":
            tid = str(((req.body or {}).get("transition") or {}).get("id", ""))
            t = next((t for t in TRANSITIONS if t["id"] == tid), None)
            if t is None:
                return Reply(400, {"errorMessages": [f"Transition id '{tid}' is not valid for this issue."], "errors": {}})
            issue["status"] = t["to"]
            return Reply(204)
        return None

    def search(self, jql: str) -> list[dict]:
        order = re.search(r"\border\s+by\s+created\s*(asc|desc)?\s*$", jql, re.I)
        where = jql[: order.start()] if order else jql
        clauses = [c.strip() for c in re.split(r"\s+AND\s+", where, flags=re.I) if c.strip()]
        tests = [_clause(c) for c in clauses]
        out = [i for i in self.data["issues"].values() if all(t(i) for t in tests)]
        out.sort(key=lambda i: (i["created"], int(i["key"].rsplit("-", 1)[1])),
                 reverse=bool(order and (order.group(1) or "").lower() == "desc"))
        return out


_CLAUSE = re.compile(r"^(?P<field>project|status|statusCategory|labels)\s*(?P<op>!=|=|not\s+in|in)\s*(?P<value>.+)$", re.I)


def _values(raw: str) -> list[str]:
    raw = raw.strip()
    if raw.startswith("("):
        raw = raw.strip("()")
    return [v.strip().strip("\"'") for v in raw.split(",") if v.strip()]


def _clause(text: str):
    m = _CLAUSE.match(text)
    if not m:
        raise ValueError(f"Error in the JQL Query: this scripted Jira does not understand '{text}'")
    field, op, values = m.group("field").lower(), m.group("op").lower().replace(" ", ""), _values(m.group("value"))

    def get(issue: dict) -> list[str]:
        if field == "project":
            return [issue["project"]]
        if field == "status":
            return [issue["status"]]
        if field == "statuscategory":
            return [JIRA_STATUSES.get(issue["status"], ("new", "To Do"))[1]]
        return issue["labels"]

    positive = op in ("=", "in")
    return lambda issue: any(v.lower() in (x.lower() for x in get(issue)) for v in values) == positive


def _adf(text: str) -> dict:
    return {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}

"""Jira issues as work items (`[[intake]] kind = "jira"`), over Jira Cloud's REST API v3.

Open means: matching `jql` when given, else `project = P AND statusCategory != Done` (or
`status in (...)` from `states`) plus one `labels = L` per label, oldest first. Closing posts
the comment and applies the transition named `done_transition` (default "Done"). API:
`api_url` (the site, e.g. https://acme.atlassian.net); token from `token_env` (default
JIRA_API_TOKEN), with basic auth when `email_env` (default JIRA_EMAIL) is set, else Bearer.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tutti.errors import ConfigError, ForgeError
from tutti.intake.base import SourceBase, WorkItem

if TYPE_CHECKING:
    from tutti.forge.http import ApiClient
    from tutti.workspace import Workspace

FIELDS = "summary,description,labels,created,reporter,status"


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def adf_text(node: Any) -> str:
    """Plain text of an Atlassian Document Format value (paragraphs on their own lines)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if node.get("type") == "text":
        return node.get("text", "")
    parts = [adf_text(child) for child in node.get("content") or []]
    return ("\n" if node.get("type") == "doc" else "").join(parts)


def _adf(text: str) -> dict[str, Any]:
    paragraphs = [{"type": "paragraph", "content": [{"type": "text", "text": line}]} for line in text.split("\n") if line]
    return {"type": "doc", "version": 1, "content": paragraphs}


class JiraIssues(SourceBase):
    kind = "jira"

    def __init__(self, ws: Workspace, cfg: Any) -> None:
        self.ws, self.cfg, self.name = ws, cfg, cfg.name

    @cached_property
    def http(self) -> ApiClient:
        from tutti.forge.http import ApiClient

        if not self.cfg.api_url:
            raise ConfigError(f"intake '{self.name}' of kind jira needs api_url", hint="api_url = \"https://acme.atlassian.net\"")
        env = self.cfg.token_env or "JIRA_API_TOKEN"
        token = os.environ.get(env, "").strip()
        if not token:
            raise ConfigError(f"intake '{self.name}': ${env} is not set", hint=f"export {env}=<Jira API token>")
        email = os.environ.get(self.cfg.email_env or "JIRA_EMAIL", "").strip()
        headers = {"Accept": "application/json"}
        auth = None
        if email:
            auth = (email, token)
        else:
            headers["Authorization"] = f"Bearer {token}"
        return ApiClient(self.cfg.api_url.rstrip("/") + "/rest/api/3", headers, service="Jira", auth=auth,
                         hint=f"check ${env}")

    def jql(self) -> str:
        if self.cfg.jql:
            return self.cfg.jql
        clauses = [f"project = {_q(self.cfg.project)}"]
        if self.cfg.states:
            clauses.append(f"status in ({', '.join(_q(s) for s in self.cfg.states)})")
        else:
            clauses.append("statusCategory != Done")
        clauses += [f"labels = {_q(label)}" for label in self.cfg.labels]
        return " AND ".join(clauses) + " ORDER BY created ASC"

    def _item(self, issue: dict[str, Any]) -> WorkItem:
        f = issue.get("fields") or {}
        site = (self.cfg.api_url or "").rstrip("/")
        return WorkItem(source="jira", id=issue["key"], title=f.get("summary") or "", body=adf_text(f.get("description")),
                        labels=tuple(f.get("labels") or ()), url=f"{site}/browse/{issue['key']}",
                        author=(f.get("reporter") or {}).get("displayName"), created_at=f.get("created"),
                        scope=issue["key"].rsplit("-", 1)[0], intake=self.name,
                        data={"jira_id": issue.get("id"), "status": (f.get("status") or {}).get("name")})

    def list_open(self, *, limit: int = 100) -> list[WorkItem]:
        body = self.http.request("GET", "/search/jql", params={"jql": self.jql(), "fields": FIELDS, "maxResults": limit}) or {}
        return [self._item(i) for i in body.get("issues") or []]

    def get(self, item_id: str) -> WorkItem | None:
        from tutti.forge.http import ForgeHTTPError

        try:
            return self._item(self.http.request("GET", f"/issue/{item_id}", params={"fields": FIELDS}))
        except ForgeHTTPError as exc:
            if exc.status == 404:
                return None
            raise

    def comment(self, item: WorkItem, body: str) -> str | None:
        return (self.http.request("POST", f"/issue/{item.id}/comment", json={"body": _adf(body)}) or {}).get("id")

    def close(self, item: WorkItem, comment: str | None = None) -> None:
        if comment:
            self.comment(item, comment)
        transitions = (self.http.request("GET", f"/issue/{item.id}/transitions") or {}).get("transitions") or []
        want = self.cfg.done_transition.lower()
        t = next((t for t in transitions if t["name"].lower() == want or (t.get("to") or {}).get("name", "").lower() == want), None)
        if t is None:
            raise ForgeError(f"Jira issue {item.id} has no transition '{self.cfg.done_transition}'",
                             hint=f"set done_transition in [[intake]] '{self.name}' to one of: "
                                  + ", ".join(t["name"] for t in transitions))
        self.http.request("POST", f"/issue/{item.id}/transitions", json={"transition": {"id": t["id"]}})

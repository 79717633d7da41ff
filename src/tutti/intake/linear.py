"""Linear issues as work items (`[[intake]] kind = "linear"`), over Linear's GraphQL API.

Open means: in team `team`, in one of `states` (by name) or, without `states`, in a state of
type backlog/unstarted; carrying every label in `labels`. Closing moves the issue to the state
named `done_transition` (default "Done"). API: `api_url` (default https://api.linear.app/graphql),
key from `token_env` (default LINEAR_API_KEY).
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

DEFAULT_URL = "https://api.linear.app/graphql"
FIELDS = "id identifier title description url createdAt creator { name } labels { nodes { name } } state { name type }"
ISSUES = ("query($filter: IssueFilter, $first: Int) { issues(filter: $filter, first: $first, orderBy: createdAt) "
          "{ nodes { " + FIELDS + " } } }")
ISSUE = "query($id: String!) { issue(id: $id) { " + FIELDS + " } }"
STATES = "query($filter: WorkflowStateFilter) { workflowStates(filter: $filter) { nodes { id name type } } }"
COMMENT = "mutation($input: CommentCreateInput!) { commentCreate(input: $input) { success comment { id } } }"
UPDATE = "mutation($id: String!, $input: IssueUpdateInput!) { issueUpdate(id: $id, input: $input) { success } }"


class LinearIssues(SourceBase):
    kind = "linear"

    def __init__(self, ws: Workspace, cfg: Any) -> None:
        self.ws, self.cfg, self.name = ws, cfg, cfg.name

    @cached_property
    def http(self) -> ApiClient:
        from tutti.forge.http import ApiClient

        env = self.cfg.token_env or "LINEAR_API_KEY"
        key = os.environ.get(env, "").strip()
        if not key:
            raise ConfigError(f"intake '{self.name}': ${env} is not set", hint=f"export {env}=<Linear API key>")
        url = self.cfg.api_url or DEFAULT_URL
        return ApiClient(url, {"Authorization": key, "Content-Type": "application/json"}, service="Linear",
                         hint=f"check ${env}")

    def _gql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = self.http.request("POST", self.http.base_url, json={"query": query, "variables": variables}) or {}
        if body.get("errors"):
            raise ForgeError(f"Linear GraphQL error: {body['errors'][0].get('message')}", hint=f"intake '{self.name}'")
        return body.get("data") or {}

    def _item(self, node: dict[str, Any]) -> WorkItem:
        return WorkItem(source="linear", id=node["identifier"], title=node.get("title") or "",
                        body=node.get("description") or "",
                        labels=tuple(n["name"] for n in (node.get("labels") or {}).get("nodes") or []),
                        url=node.get("url"), author=(node.get("creator") or {}).get("name"), created_at=node.get("createdAt"),
                        scope=self.cfg.team or "", intake=self.name,
                        data={"linear_id": node["id"], "state": (node.get("state") or {}).get("name")})

    def list_open(self, *, limit: int = 100) -> list[WorkItem]:
        state = {"name": {"in": list(self.cfg.states)}} if self.cfg.states else {"type": {"in": ["backlog", "unstarted"]}}
        filt = {"team": {"key": {"eq": self.cfg.team}}, "state": state}
        nodes = self._gql(ISSUES, {"filter": filt, "first": min(250, max(limit * 2, 50))})["issues"]["nodes"]
        items = [self._item(n) for n in nodes]
        wanted = set(self.cfg.labels)
        return [i for i in items if wanted <= set(i.labels)][:limit]

    def get(self, item_id: str) -> WorkItem | None:
        node = self._gql(ISSUE, {"id": item_id}).get("issue")
        return self._item(node) if node else None

    def comment(self, item: WorkItem, body: str) -> str | None:
        issue_id = item.data.get("linear_id") or item.id
        data = self._gql(COMMENT, {"input": {"issueId": issue_id, "body": body}})
        return ((data.get("commentCreate") or {}).get("comment") or {}).get("id")

    def close(self, item: WorkItem, comment: str | None = None) -> None:
        if comment:
            self.comment(item, comment)
        states = self._gql(STATES, {"filter": {"team": {"key": {"eq": self.cfg.team}}}})["workflowStates"]["nodes"]
        done = next((s for s in states if s["name"].lower() == self.cfg.done_transition.lower()), None)
        if done is None:
            raise ForgeError(f"Linear team {self.cfg.team} has no state named '{self.cfg.done_transition}'",
                             hint=f"set done_transition in [[intake]] '{self.name}' to one of: "
                                  + ", ".join(s["name"] for s in states))
        self._gql(UPDATE, {"id": item.data.get("linear_id") or item.id, "input": {"stateId": done["id"]}})

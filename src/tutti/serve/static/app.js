// Tutti dashboard: vanilla JS, no build step. Live state comes from one EventSource on
// /v1/events/stream; HTTP reads happen at boot and when focus mode opens or an agent's events arrive.
"use strict";

const STATE_BY_KIND = {
  "agent.working": "working", "agent.idle": "idle", "agent.started": "idle",
  "agent.auth_recovered": "idle", "agent.provider_recovered": "idle", "agent.recovery_succeeded": "idle",
  "agent.stopped": "stopped", "agent.auth_failed": "auth_failed", "agent.rate_limited": "rate_limited",
  "agent.provider_down": "provider_down", "agent.waiting": "waiting", "agent.stuck": "stuck",
  "agent.recovery_attempted": "recovering", "agent.recovery_failed": "stuck", "agent.launch_failed": "launch_failed",
};
const BLOCKED = new Set(["auth_failed", "rate_limited", "provider_down", "waiting"]);
const WARNING = new Set(["stuck", "recovering", "unknown", "launch_failed"]);
const TIMELINE_MAX = 200;
const BACKLOG = 150; // events replayed at boot to rebuild runs and the timeline

const ui = {
  agents: new Map(),    // name -> agent row
  workflows: new Map(), // name -> {name, description, stages}
  runs: new Map(),      // run_id -> {run_id, workflow, status, stages: [{label, status}], current}
  workspace: null,
  source: null,
  focus: null,          // {agent, timer, pending}
  approvals: new Map(), // approval_id -> {approval_id, run_id, agent, tool, args}: waiting for a human
};

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
};

function colorOf(state) {
  if (state === "working") return "working";
  if (BLOCKED.has(state)) return "blocked";
  if (WARNING.has(state)) return "warning";
  return "idle";
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const res = await fetch(path, { credentials: "same-origin", ...init });
  if (res.status === 401) { location.href = "/login"; throw new Error("unauthorized"); }
  const env = await res.json();
  if (!env.ok) throw new Error(env.error ? env.error.message : `HTTP ${res.status}`);
  return env.data;
}
const q = (path) => `${path}${path.includes("?") ? "&" : "?"}workspace=${encodeURIComponent(ui.workspace)}`;

// -- stations ------------------------------------------------------------------------------
function renderFloor() {
  const floor = $('[data-testid="floor"]');
  floor.replaceChildren();
  for (const a of ui.agents.values()) {
    floor.append(el("button", {
      class: "station", "data-testid": `station-${a.agent}`, "data-agent": a.agent,
      "data-state": a.state, "data-color": colorOf(a.state), "data-host": a.host || "", onclick: () => openFocus(a.agent),
    },
    el("div", { class: "name" }, a.agent),
    el("div", { class: "meta" }, [a.runtime, a.role, a.host && `on ${a.host}`].filter(Boolean).join(" · ") || "agent"),
    el("div", { class: "state" }, el("span", { class: "lamp" }), el("span", { "data-testid": `station-state-${a.agent}` }, a.state.replace("_", " "))),
    el("div", { class: "task", "data-testid": `station-task-${a.agent}`, title: a.task || "" }, (a.task || "—").slice(0, 140)),
    el("div", { class: "ctx mini" }, el("div", { class: "bar" }, ctxFill(a)))));
  }
  renderHud();
}

function ctxFill(a) {
  return paintCtx(el("div", { class: "fill", "data-testid": `station-ctx-${a.agent}` }), a.context_pct);
}

// The bar's width and colour (≤70 green, ≤90 amber, above red); null: no reading yet.
function paintCtx(fill, value) {
  const pct = typeof value === "number" ? value : null;
  fill.style.width = pct === null ? "0" : `${Math.min(100, pct)}%`;
  fill.dataset.level = pct === null || pct <= 70 ? "green" : pct <= 90 ? "amber" : "red";
  return fill;
}

// A state event carries the watcher's context reading: move the station's and the focus bar now.
function setAgentContext(name, pct) {
  const a = ui.agents.get(name);
  if (!a || typeof pct !== "number") return;
  a.context_pct = pct;
  const node = document.querySelector(`[data-testid="station-ctx-${CSS.escape(name)}"]`);
  if (node) paintCtx(node, pct);
  if (ui.focus && ui.focus.agent === name) paintFocusCtx(pct);
}

function paintFocusCtx(pct) {
  paintCtx($('[data-testid="focus-ctx"]'), pct);
  $('[data-testid="focus-ctx-label"]').textContent = typeof pct === "number" ? `${Math.round(pct)}%` : "—";
}

function setAgentTask(name, text) {
  const a = ui.agents.get(name);
  if (!a || !text) return;
  a.task = text.split(/\s+/).join(" ");
  const node = document.querySelector(`[data-testid="station-task-${CSS.escape(name)}"]`);
  if (node) { node.textContent = a.task.slice(0, 140); node.title = a.task; }
}

function setAgentState(name, state) {
  const a = ui.agents.get(name);
  if (!a || !state) return;
  a.state = state;
  const node = document.querySelector(`[data-testid="station-${CSS.escape(name)}"]`);
  if (node) {
    node.dataset.state = state;
    node.dataset.color = colorOf(state);
    node.querySelector(`[data-testid="station-state-${CSS.escape(name)}"]`).textContent = state.replace("_", " ");
  }
  renderHud();
  if (ui.focus && ui.focus.agent === name) $('[data-testid="focus-state"]').textContent = state;
}

function renderHud() {
  const states = [...ui.agents.values()].map((a) => a.state);
  $('[data-testid="hud-working"]').textContent = states.filter((s) => s === "working").length;
  $('[data-testid="hud-blocked"]').textContent = states.filter((s) => BLOCKED.has(s)).length;
  $('[data-testid="hud-waiting"]').textContent = states.filter((s) => s === "waiting").length + ui.approvals.size;
  const active = [...ui.runs.values()].filter((r) => r.status === "running");
  $('[data-testid="hud-stage"]').textContent = active.length
    ? active.map((r) => `${r.workflow}: ${r.current >= 0 ? r.stages[r.current].label : "starting"}`).join(" · ")
    : "—";
}

// -- runs and the pipeline -----------------------------------------------------------------
function runFor(event) {
  const id = event.run_id || event.correlation_id;
  if (!id) return null;
  let run = ui.runs.get(id);
  if (!run) {
    const name = event.data.workflow_name || event.data.workflow || "workflow";
    const wf = ui.workflows.get(name);
    const stages = (wf ? wf.stages : []).map((s) => ({ label: s.label, status: "pending" }));
    run = { run_id: id, workflow: name, status: "running", stages, current: -1, startedAt: event.ts };
    ui.runs.set(id, run);
  }
  return run;
}

function stageIndex(run, event) {
  // The engine numbers steps from 1 (as in tutti.toml); stages are a 0-based array.
  const d = event.data;
  let idx = Number.isInteger(d.step_index) ? d.step_index - 1 : null;
  if (idx === null && event.step) idx = run.stages.findIndex((s) => s.label === (d.step_id || event.step));
  if (idx === null || idx < 0) return -1;
  while (run.stages.length <= idx) run.stages.push({ label: d.step_id || event.step || `step ${run.stages.length + 1}`, status: "pending" });
  return idx;
}

function applyWorkflowEvent(event) {
  const run = runFor(event);
  if (!run) return;
  const k = event.kind;
  if (k === "workflow.started") run.status = "running";
  else if (k.startsWith("workflow.step.")) {
    const idx = stageIndex(run, event);
    if (idx >= 0) {
      const phase = k.slice("workflow.step.".length);
      run.stages[idx].status = phase === "started" ? "running" : phase;
      if (phase === "started" || idx > run.current) run.current = idx;
    }
  } else if (k === "workflow.completed") run.status = (event.data && event.data.warning_count) ? "warning" : "completed";
  else if (k === "workflow.failed") run.status = "failed";
  else if (k === "workflow.cancelled") run.status = "cancelled";
  if (["completed", "warning", "failed", "cancelled"].includes(run.status) && run.current >= 0
      && run.stages[run.current].status === "running") run.stages[run.current].status = ["completed", "warning"].includes(run.status) ? "completed" : "failed";
  scheduleRender();
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; renderRuns(); renderHud(); });
}

function renderRuns() {
  const runs = [...ui.runs.values()].sort((a, b) => (b.startedAt || "").localeCompare(a.startedAt || ""));
  const list = $('[data-testid="runs"]');
  list.replaceChildren(...runs.slice(0, 20).map((r) => {
    const done = r.stages.filter((s) => ["completed", "warning", "failed", "skipped"].includes(s.status)).length;
    return el("li", { "data-testid": `run-${r.run_id}`, onclick: () => openRun(r.run_id) },
      el("div", {}, el("strong", {}, r.workflow), " ",
        el("span", { class: "status", "data-status": r.status, "data-testid": `run-status-${r.run_id}` }, r.status)),
      el("div", { class: "muted", "data-testid": `run-progress-${r.run_id}` }, `${done}/${r.stages.length} steps · ${r.run_id}`));
  }));
  const pipeline = $('[data-testid="pipeline"]');
  const visible = runs.filter((r) => r.status === "running" || r.status === "waiting_approval").concat(
    runs.filter((r) => !(r.status === "running" || r.status === "waiting_approval")).slice(0, 1));
  if (!visible.length) { pipeline.replaceChildren(el("p", { class: "empty" }, "No active runs.")); return; }
  pipeline.replaceChildren(...visible.map((r) => el("div", { class: "run", "data-testid": `pipeline-${r.run_id}` },
    el("div", { class: "run-head" }, el("span", {}, r.workflow), el("span", { class: "muted" }, r.status)),
    el("div", { class: "stages" }, ...r.stages.map((s, i) => {
      const stage = el("div", { class: "stage", "data-status": s.status, "data-testid": `stage-${r.run_id}-${i + 1}`, title: s.label }, s.label);
      if (i === r.current && r.status === "running") stage.append(el("span", { class: "dot", "data-testid": `run-dot-${r.run_id}` }));
      return stage;
    })))));
}

// -- run view: each step's outcome and log ---------------------------------------------------
async function openRun(runId) {
  const view = $('[data-testid="run-view"]');
  let run;
  try { run = await api(q(`/v1/runs/${encodeURIComponent(runId)}`)); } catch (err) { alert(err.message); return; }
  view.hidden = false;
  view.dataset.run = runId;
  $('[data-testid="run-view-title"]').textContent = `${run.workflow || "run"} · ${run.status} · ${runId}`;
  const log = $('[data-testid="run-view-log"]');
  log.hidden = true;
  $('[data-testid="run-view-steps"]').replaceChildren(...run.steps.map((st) => el("li", {
    "data-status": st.status, "data-testid": `run-step-${st.index}` },
    el("div", {}, el("strong", {}, st.id || st.key), " ", el("span", { class: "st" }, st.status),
      st.agent ? el("span", { class: "muted" }, ` · ${st.agent}`) : "",
      st.duration_ms != null ? el("span", { class: "muted" }, ` · ${(st.duration_ms / 1000).toFixed(1)} s`) : ""),
    st.message ? el("div", { class: "muted", "data-testid": `run-step-message-${st.index}` }, st.message) : "",
    el("button", { class: "ghost", "data-testid": `run-step-log-${st.index}`, onclick: () => showLog(runId, st.index) }, "log"))));
}

async function showLog(runId, index) {
  const log = $('[data-testid="run-view-log"]');
  log.hidden = false;
  log.textContent = "loading…";
  try {
    const data = await api(q(`/v1/runs/${encodeURIComponent(runId)}/steps/${index}/log`));
    log.textContent = data.log ?? `(no log file${data.message ? `: ${data.message}` : ""})`;
  } catch (err) { log.textContent = err.message; }
}

// -- cost and provider health --------------------------------------------------------------------
let costTimer = null;
function scheduleCost() { clearTimeout(costTimer); costTimer = setTimeout(loadCost, 2000); }

async function loadCost() {
  try {
    const [days] = await api(q("/v1/usage?by=day&since=14d"));
    const [agents] = await api(q("/v1/usage?by=agent&since=7d"));
    renderCost(days, agents);
  } catch (err) { console.warn(err); }
}

function money(v) { return v >= 1 ? `$${v.toFixed(2)}` : `$${v.toFixed(4)}`; }
function tokens(n) { return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}k` : `${n}`; }

function renderCost(days, agents) {
  const groups = (days && days.groups) || [];
  const chart = $('[data-testid="cost-chart"]');
  const useCost = groups.some((g) => g.cost_usd > 0);
  const value = (g) => (useCost ? g.cost_usd : g.total_tokens);
  const max = Math.max(0, ...groups.map(value));
  if (!groups.length) chart.replaceChildren(el("p", { class: "empty" }, "No usage yet."));
  else chart.replaceChildren(...groups.map((g) => {
    const bar = el("div", { class: "barv", "data-testid": `cost-bar-${g.key}`, "data-value": String(value(g)),
      title: `${g.key}: ${money(g.cost_usd)} · ${tokens(g.total_tokens)} tokens` });
    bar.style.height = `${max ? Math.max(2, (100 * value(g)) / max) : 2}%`;
    return el("div", { class: "col", "data-testid": `cost-day-${g.key}` }, bar, el("span", { class: "lbl" }, g.key.slice(5)));
  }));
  const total = (days && days.total) || { cost_usd: 0, total_tokens: 0 };
  $('[data-testid="cost-total"]').textContent = `${money(total.cost_usd)} · ${tokens(total.total_tokens)} tokens (14 days)`;
  const rows = ((agents && agents.groups) || []).map((g) => el("tr", { "data-testid": `cost-agent-${g.key}` },
    el("td", {}, g.key), el("td", { class: "num" }, tokens(g.total_tokens)), el("td", { class: "num" }, money(g.cost_usd))));
  $('[data-testid="cost-agents"] tbody').replaceChildren(...rows);
}

async function loadProviders() {
  let rows = [];
  try { rows = await api(q("/v1/providers")); } catch (err) { console.warn(err); return; }
  const list = $('[data-testid="providers"]');
  if (!rows.length) { list.replaceChildren(el("li", { class: "empty" }, "No provider activity.")); return; }
  list.replaceChildren(...rows.map((h) => {
    const id = `${h.provider}${h.profile ? `-${h.profile}` : ""}`;
    const notes = [];
    if (h.rate_limited) notes.push(`rate limited${h.rate_limit_reset_at ? ` until ${h.rate_limit_reset_at.slice(11, 16)}` : ""}`);
    if (h.last_auth_failure) notes.push(`auth failed ${String(h.last_auth_failure.ts || "").slice(11, 19)} (${h.last_auth_failure.agent || "?"})`);
    notes.push(`${Math.round(h.error_rate * 100)}% errors · ${h.requests + h.errors} in 1h`);
    return el("li", { "data-testid": `provider-${id}` },
      el("div", {}, el("strong", {}, h.provider), h.profile ? el("span", { class: "muted" }, ` · ${h.profile}`) : "", " ",
        el("span", { class: "status", "data-status": h.status, "data-testid": `provider-status-${id}` }, h.status)),
      el("div", { class: "muted" }, notes.join(" · ")));
  }));
}
let providerTimer = null;
function scheduleProviders() { clearTimeout(providerTimer); providerTimer = setTimeout(loadProviders, 500); }

// -- dispatch ------------------------------------------------------------------------------
function renderWorkflows() {
  const list = $('[data-testid="dispatch"]');
  if (!ui.workflows.size) { list.replaceChildren(el("li", { class: "empty" }, "No workflows in tutti.toml.")); return; }
  list.replaceChildren(...[...ui.workflows.values()].map((wf) => el("li", {},
    el("div", {}, el("div", {}, wf.name), el("div", { class: "desc" }, wf.description || `${wf.steps} steps`)),
    el("button", { "data-testid": `dispatch-run-${wf.name}`, onclick: (e) => dispatch(wf.name, e.target) }, "Run"))));
}

async function dispatch(name, button) {
  button.disabled = true;
  try {
    const data = await api("/v1/actions/run", { workspace: ui.workspace, workflow: name });
    runFor({ run_id: data.run_id, data: { workflow_name: name }, ts: new Date().toISOString() });
    scheduleRender();
  } catch (err) {
    alert(`Could not start ${name}: ${err.message}`);
  } finally { button.disabled = false; }
}

// -- approvals: tool calls of direct runs waiting for a human -----------------------------------
function renderApprovals() {
  const list = $('[data-testid="approvals"]');
  if (!ui.approvals.size) list.replaceChildren(el("li", { class: "empty" }, "Nothing to approve."));
  else list.replaceChildren(...[...ui.approvals.values()].map((a) => el("li", { "data-testid": `approval-${a.approval_id}` },
    el("div", {}, el("strong", {}, a.agent || "agent"), ` wants to run `, el("strong", {}, a.tool)),
    el("code", {}, JSON.stringify(a.args || {})),
    el("div", { class: "actions" },
      el("button", { "data-testid": `approve-${a.approval_id}`, onclick: () => decide(a, true) }, "Approve"),
      el("button", { class: "deny", "data-testid": `deny-${a.approval_id}`, onclick: () => decide(a, false) }, "Deny")))));
  renderHud();
}

async function decide(approval, approve) {
  try {
    await api("/v1/actions/approve", { workspace: ui.workspace, run_id: approval.run_id,
      approval_id: approval.approval_id, approve });
    ui.approvals.delete(approval.approval_id);
    renderApprovals();
  } catch (err) { alert(`Could not record the decision: ${err.message}`); }
}

// -- timeline ------------------------------------------------------------------------------
function addTimeline(event) {
  const list = $('[data-testid="timeline"]');
  const who = [event.agent, event.step].filter(Boolean).join(" / ");
  list.prepend(el("li", { "data-seq": event.seq },
    el("span", { class: "ts" }, (event.ts || "").slice(11, 19)),
    el("span", {}, el("span", { class: "kind" }, event.kind), who ? ` ${who}` : "")));
  while (list.children.length > TIMELINE_MAX) list.lastChild.remove();
}

// -- focus mode ----------------------------------------------------------------------------
function openFocus(agent) {
  closeFocus();
  ui.focus = { agent, timer: null, pending: null, attachments: [] };
  $('[data-testid="focus-attachments"]').replaceChildren();
  $('[data-testid="focus-title"]').textContent = agent;
  $('[data-testid="focus-state"]').textContent = ui.agents.get(agent).state;
  $('[data-testid="focus-terminal"]').textContent = "loading…";
  $('[data-testid="focus-note"]').textContent = "";
  $('[data-testid="focus-host"]').hidden = true;
  $('[data-testid="focus"]').hidden = false;
  refreshFocus(true);
  // Events drive refreshes; this slow timer only covers output that produces no event.
  ui.focus.timer = setInterval(() => {
    const a = ui.agents.get(agent);
    if (a && a.state === "working") refreshFocus(false);
  }, 5000);
  $('[data-testid="focus-prompt"]').focus();
}

function closeFocus() {
  if (!ui.focus) return;
  clearInterval(ui.focus.timer);
  clearTimeout(ui.focus.pending);
  ui.focus = null;
  $('[data-testid="focus"]').hidden = true;
}

function focusEvent(event) {
  if (!ui.focus || event.agent !== ui.focus.agent || ui.focus.pending) return;
  ui.focus.pending = setTimeout(() => { if (ui.focus) { ui.focus.pending = null; refreshFocus(false); } }, 150);
}

async function refreshFocus(withUsage) {
  const f = ui.focus;
  if (!f) return;
  const path = `/v1/agents/${encodeURIComponent(ui.workspace)}/${encodeURIComponent(f.agent)}/focus?lines=200${withUsage ? "&usage=true" : ""}`;
  let data;
  try { data = await api(path); } catch (err) { $('[data-testid="focus-note"]').textContent = err.message; return; }
  if (!ui.focus || ui.focus.agent !== f.agent) return;
  const term = $('[data-testid="focus-terminal"]');
  const atBottom = term.scrollTop + term.clientHeight >= term.scrollHeight - 20;
  term.textContent = data.terminal ?? (data.errors.terminal ? `(${data.errors.terminal})` : "(agent not running)");
  if (data.host) {  // another host's agent: its pane is a snapshot relayed through that host
    const host = $('[data-testid="focus-host"]');
    host.hidden = false;
    host.dataset.answered = String(data.host_answered);
    host.textContent = data.host_answered ? `on ${data.host} · relayed` : `${data.host} did not answer`;
  }
  if (atBottom) term.scrollTop = term.scrollHeight;
  $('[data-testid="focus-start"]').hidden = data.running;
  // No live reading (agent stopped, screen without one): keep the last one the events brought.
  const known = ui.agents.get(f.agent);
  paintFocusCtx(typeof data.context_pct === "number" ? data.context_pct : known && known.context_pct);
  if (data.usage) {
    const rows = Object.entries(data.usage).filter(([, v]) => typeof v === "number");
    $('[data-testid="focus-usage"]').replaceChildren(...rows.flatMap(([k, v]) =>
      [el("dt", {}, k.replaceAll("_", " ")), el("dd", {}, v.toLocaleString())]));
  }
  if (data.diff) {
    $('[data-testid="focus-diff"]').textContent = data.diff.text || "(no changes)";
    $('[data-testid="focus-diffstat"]').textContent = `${data.diff.files_changed} files +${data.diff.insertions} −${data.diff.deletions}`;
  } else {
    $('[data-testid="focus-diff"]').textContent = data.errors.diff ? `(${data.errors.diff})` : "";
  }
}

const MAX_IMAGE = 5 * 1024 * 1024;
async function uploadImage(e) {
  const file = e.target.files && e.target.files[0];
  e.target.value = "";
  if (!file || !ui.focus) return;
  const box = $('[data-testid="focus-attachments"]');
  const fail = (msg) => box.append(el("span", { class: "err", "data-testid": "focus-upload-error" }, msg));
  box.querySelectorAll(".err").forEach((n) => n.remove());
  if (file.size > MAX_IMAGE) { fail(`${file.name} is larger than 5 MB`); return; }
  const bytes = new Uint8Array(await file.arrayBuffer());
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  try {
    const data = await api("/v1/actions/upload", { workspace: ui.workspace, agent: ui.focus.agent,
      filename: file.name, data_base64: btoa(bin) });
    ui.focus.attachments = (ui.focus.attachments || []).concat([data.upload]);
    box.append(el("span", { "data-testid": "focus-attachment", "data-path": data.upload.path }, `${file.name} → ${data.upload.path}`));
  } catch (err) { fail(`upload failed: ${err.message}`); }
}

async function sendPrompt(e) {
  e.preventDefault();
  const input = $('[data-testid="focus-prompt"]');
  let prompt = input.value.trim();
  if (!prompt || !ui.focus) return;
  const attached = ui.focus.attachments || [];
  // The image travels by reference: the agent reads the file from its own worktree.
  if (attached.length) prompt = `${prompt}\n\n${attached.map((u) => u.reference).join("\n")}`;
  const note = $('[data-testid="focus-note"]');
  note.textContent = "sending…";
  try {
    await api("/v1/actions/send", { workspace: ui.workspace, agent: ui.focus.agent, prompt, auto_up: true });
    input.value = "";
    note.textContent = "sent";
    if (ui.focus) ui.focus.attachments = [];
    $('[data-testid="focus-attachments"]').replaceChildren();
    refreshFocus(false);
  } catch (err) { note.textContent = `send failed: ${err.message}`; }
}

async function startAgent() {
  if (!ui.focus) return;
  const note = $('[data-testid="focus-note"]');
  note.textContent = "starting…";
  try {
    await api("/v1/actions/up", { workspace: ui.workspace, agent: ui.focus.agent });
    note.textContent = "started";
    refreshFocus(false);
  } catch (err) { note.textContent = `start failed: ${err.message}`; }
}

// -- the live stream -----------------------------------------------------------------------
function onEvent(event) {
  addTimeline(event);
  if (event.agent) {
    let state = STATE_BY_KIND[event.kind];
    if (!state && event.kind === "agent.state") state = event.data.to || event.data.state;
    if (state) setAgentState(event.agent, state);
    if (event.kind === "agent.prompt_sent") setAgentTask(event.agent, event.data.text);
    if (event.kind === "agent.idle") scheduleCost();
    if (["agent.auth_failed", "agent.rate_limited", "agent.provider_down", "agent.auth_recovered",
      "agent.provider_recovered", "provider.degraded"].includes(event.kind)) scheduleProviders();
    setAgentContext(event.agent, event.data.context_used_pct ?? event.data.context_pct);
    focusEvent(event);
  }
  if (event.kind.startsWith("workflow.")) applyWorkflowEvent(event);
  if (event.kind === "direct.approval.requested") {
    ui.approvals.set(event.data.approval_id, { approval_id: event.data.approval_id, run_id: event.run_id,
      agent: event.agent, tool: event.data.tool, args: event.data.args });
    renderApprovals();
  }
  if (event.kind === "direct.approval.decided") { ui.approvals.delete(event.data.approval_id); renderApprovals(); }
}

function connect(cursor) {
  if (ui.source) ui.source.close();
  const conn = $('[data-testid="conn"]');
  conn.dataset.state = "connecting";
  // as_message: every kind arrives on onmessage (EventSource has no wildcard listener).
  // On reconnect the browser sends Last-Event-ID itself, so nothing is missed or repeated.
  const source = new EventSource(q(`/v1/events/stream?as_message=true&cursor=${cursor}`));
  source.onopen = () => { conn.dataset.state = "live"; };
  source.onerror = () => { conn.dataset.state = source.readyState === EventSource.CLOSED ? "down" : "connecting"; };
  source.onmessage = (msg) => {
    if (msg.lastEventId) lastSeq = msg.lastEventId;
    try { onEvent(JSON.parse(msg.data)); } catch (err) { console.error(err); }
  };
  // The server dropped us for being slow: resume from the last event we did get.
  source.addEventListener("reconnect", () => { source.close(); connect(lastSeq); });
  ui.source = source;
}
let lastSeq = 0;

async function load(workspace) {
  ui.workspace = workspace;
  closeFocus();
  ui.agents.clear(); ui.workflows.clear(); ui.runs.clear(); ui.approvals.clear();
  $('[data-testid="timeline"]').replaceChildren();
  const [agents, workflows] = await Promise.all([api(q("/v1/agents")), api(q("/v1/workflows"))]);
  const initial = initialData(workspace);
  for (const a of agents) {
    const seed = initial.get(a.agent) || {};
    ui.agents.set(a.agent, { ...a, task: a.task ?? seed.task ?? null,
      context_pct: a.context_pct ?? seed.context_pct ?? null });
  }
  for (const wf of workflows) ui.workflows.set(wf.name, wf);
  await loadRuns();
  try {
    for (const a of await api(q("/v1/approvals"))) ui.approvals.set(a.approval_id, a);
  } catch (err) { console.warn(err); }
  renderFloor(); renderWorkflows(); renderRuns(); renderApprovals();
  loadCost(); loadProviders();
  const latest = await latestSeq();
  lastSeq = Math.max(0, latest - BACKLOG);
  connect(lastSeq);
}

// Runs from the store, so a page opened mid-run shows every step's real status (the event
// backlog replayed afterwards only covers the most recent events).
const RUN_STATUS = { succeeded: "completed" };
const STEP_STATUS = { success: "completed" };
async function loadRuns() {
  const runs = await api(q("/v1/runs?limit=10"));
  for (const r of runs) {
    const wf = ui.workflows.get(r.workflow);
    const run = {
      // a run that succeeded with warnings is amber, never plain green
      run_id: r.run_id, workflow: r.workflow, status: r.warning_count && r.status === "succeeded" ? "warning" : RUN_STATUS[r.status] || r.status, current: -1,
      startedAt: r.started_at, stages: (wf ? wf.stages : []).map((s) => ({ label: s.label, status: "pending" })),
    };
    if (r.status === "running" || run.status === "warning") {
      const detail = await api(q(`/v1/runs/${encodeURIComponent(r.run_id)}`));
      run.stages = detail.steps.map((s) => ({ label: s.id || s.key, status: STEP_STATUS[s.status] || s.status }));
      run.current = run.stages.map((s) => s.status).lastIndexOf("running");
    } else if (run.status === "completed") {
      run.stages.forEach((s) => { s.status = "completed"; });
    }
    ui.runs.set(run.run_id, run);
  }
}

// The server-rendered first paint carries each agent's current task and context reading.
function initialData(workspace) {
  const out = new Map();
  const node = document.getElementById("tutti-initial");
  if (!node) return out;
  try {
    const data = JSON.parse(node.textContent);
    if (data.workspace === workspace) for (const a of data.agents) out.set(a.agent, a);
  } catch (err) { console.warn(err); }
  return out;
}

async function latestSeq() {
  const data = await api(q("/v1/dashboard"));
  return (data.latest_seq && data.latest_seq[ui.workspace]) || 0;
}

function setupTabs() {
  const panels = document.querySelectorAll("[data-panel]");
  const select = (name) => {
    document.querySelectorAll(".tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
    panels.forEach((p) => p.classList.toggle("active-tab", p.dataset.panel === name));
  };
  document.querySelectorAll(".tabs button").forEach((b) => b.addEventListener("click", () => select(b.dataset.tab)));
  select("floor");
}

async function boot() {
  setupTabs();
  $('[data-testid="focus-close"]').addEventListener("click", closeFocus);
  $('[data-testid="focus-start"]').addEventListener("click", startAgent);
  $('[data-testid="focus-form"]').addEventListener("submit", sendPrompt);
  $('[data-testid="focus-image"]').addEventListener("change", uploadImage);
  $('[data-testid="run-view-close"]').addEventListener("click", () => { $('[data-testid="run-view"]').hidden = true; });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeFocus(); });
  const info = await api("/v1/dashboard");
  const select = $('[data-testid="workspace-select"]');
  if (info.workspaces.length > 1) {
    select.hidden = false;
    select.replaceChildren(...info.workspaces.map((w) => el("option", { value: w }, w)));
    select.addEventListener("change", () => load(select.value));
  }
  await load(info.workspaces[0]);
  document.body.dataset.ready = "true";
}

boot().catch((err) => { console.error(err); $('[data-testid="conn"]').dataset.state = "down"; });

// The flux-edge web console: plain DOM code over the management API, no third-party code.
// The token lives in sessionStorage (this tab only) and goes out only in Authorization headers.
"use strict";

const TOKEN_KEY = "flux-edge-token";
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem(TOKEN_KEY), current: null, files: null, live: null };

class ApiError extends Error {}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${state.token}` };
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && path.startsWith("/api/v1/functions") && !path.includes("/invoke")) {
    signOut("The server refused the token: sign in again.");
    throw new ApiError("unauthorized");
  }
  return response;
}

async function apiJSON(path, options) {
  const response = await api(path, options);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const why = body && body.message ? `${body.error}: ${body.message}` : `HTTP ${response.status}`;
    throw new ApiError(why);
  }
  return body;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function when(iso) {
  if (!iso) return "never";
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

// ---- sign in -------------------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  $("signin-error").textContent = "";
  const response = await fetch("/api/v1/functions", { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    $("signin-error").textContent = body && body.message ? body.message : `HTTP ${response.status}`;
    return;
  }
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("token").value = "";
  await showApp();
}

function signOut(message) {
  stopLive();
  state.token = null;
  state.current = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $("app-view").hidden = true;
  $("sign-out").hidden = true;
  $("signin-view").hidden = false;
  $("signin-error").textContent = typeof message === "string" ? message : "";
}

async function showApp() {
  $("signin-view").hidden = true;
  $("app-view").hidden = false;
  $("sign-out").hidden = false;
  await refreshFunctions();
  if (state.current) await selectFunction(state.current);
  else await showOverview();
}

// ---- functions list ------------------------------------------------------------------------

async function refreshFunctions() {
  const functions = await apiJSON("/api/v1/functions");
  const body = $("functions").tBodies[0];
  body.replaceChildren();
  for (const fn of functions) {
    const row = el("tr");
    row.dataset.name = fn.name;
    row.classList.toggle("selected", fn.name === state.current);
    row.append(el("td", fn.name), el("td", fn.enabled ? "enabled" : "disabled", fn.enabled ? "" : "st-disabled"));
    const last = el("td", "…", "last-run");
    row.append(last);
    row.addEventListener("click", () => selectFunction(fn.name));
    body.append(row);
    apiJSON(`/api/v1/functions/${encodeURIComponent(fn.name)}/executions?limit=1`).then((runs) => {
      last.textContent = runs.length ? `${when(runs[0].executed_at)} ${runs[0].status}` : "never";
      if (runs.length) last.className = `last-run st-${runs[0].status}`;
    }, () => { last.textContent = "?"; });
  }
  return functions;
}

async function showOverview() {
  stopLive();
  state.current = null;
  $("detail").hidden = true;
  $("overview").hidden = false;
  for (const row of $("functions").tBodies[0].rows) row.classList.remove("selected");
  const functions = await apiJSON("/api/v1/functions");
  const lists = await Promise.all(functions.map((fn) =>
    apiJSON(`/api/v1/functions/${encodeURIComponent(fn.name)}/executions?limit=500`).catch(() => [])));
  drawChart($("overview-chart"), lists.flat());
}

async function createFunction(event) {
  event.preventDefault();
  const name = $("new-name").value.trim();
  $("new-status").textContent = "Deploying…";
  try {
    const created = await apiJSON("/api/v1/functions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name, code: $("new-code").value, enabled: true }),
    });
    $("new-status").textContent = `Created ${created.name}, version ${created.version}.`;
    $("new-name").value = "";
    await refreshFunctions();
    await selectFunction(created.name);
  } catch (error) {
    $("new-status").textContent = error.message;
  }
}

// ---- one function --------------------------------------------------------------------------

async function selectFunction(name) {
  state.current = name;
  for (const row of $("functions").tBodies[0].rows) row.classList.toggle("selected", row.dataset.name === name);
  $("overview").hidden = true;
  $("detail").hidden = false;
  $("detail-name").textContent = name;
  $("deploy-status").textContent = "";
  $("invoke-result").textContent = "";
  $("execution-detail").hidden = true;
  const fn = await apiJSON(`/api/v1/functions/${encodeURIComponent(name)}`);
  showCode(fn);
  await refreshExecutions();
  startLive(name);
}

function showCode(fn) {
  $("detail-meta").textContent =
    `version ${fn.version} · ${fn.enabled ? "enabled" : "disabled"} · ${fn.timeout_seconds} s · ${fn.memory_limit_mb} MiB`;
  const picker = $("code-file");
  picker.replaceChildren();
  if (fn.files && fn.entrypoint) {
    state.files = { ...fn.files };
    state.entrypoint = fn.entrypoint;
    for (const path of Object.keys(fn.files).sort()) picker.append(el("option", path));
    picker.value = fn.entrypoint;
    picker.hidden = false;
    $("code").value = fn.files[fn.entrypoint];
  } else {
    state.files = null;
    picker.hidden = true;
    $("code").value = fn.code;
  }
  picker.dataset.shown = picker.value;
}

function switchFile() {
  const picker = $("code-file");
  state.files[picker.dataset.shown] = $("code").value;
  $("code").value = state.files[picker.value];
  picker.dataset.shown = picker.value;
}

async function deployCode(event) {
  event.preventDefault();
  const name = state.current;
  let body = { code: $("code").value };
  if (state.files) {
    state.files[$("code-file").value] = $("code").value;
    body = { files: state.files, entrypoint: state.entrypoint };
  }
  $("deploy-status").textContent = "Deploying…";
  try {
    const fn = await apiJSON(`/api/v1/functions/${encodeURIComponent(name)}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    $("deploy-status").textContent = `Deployed version ${fn.version}.`;
    showCode(fn);
  } catch (error) {
    $("deploy-status").textContent = error.message;
  }
}

async function invoke(event) {
  event.preventDefault();
  const name = state.current;
  const method = $("invoke-method").value;
  const path = $("invoke-path").value.trim();
  const suffix = path && !path.startsWith("/") && !path.startsWith("?") ? `/${path}` : path;
  const options = { method, headers: {} };
  if (!["GET", "HEAD"].includes(method)) {
    options.body = $("invoke-body").value;
    options.headers["Content-Type"] = "application/json";
  }
  $("invoke-result").textContent = "Running…";
  const response = await api(`/api/v1/functions/${encodeURIComponent(name)}/invoke${suffix}`, options);
  const text = await response.text();
  const executionId = response.headers.get("x-flux-execution-id");
  $("invoke-result").textContent =
    `HTTP ${response.status}${executionId ? `  execution ${executionId}` : ""}\n\n${text}`;
  // The execution record is written in a batch just after the response: wait until it is listed.
  for (let attempt = 0; attempt < 30; attempt++) {
    const runs = await refreshExecutions();
    if (!executionId || runs.some((run) => run.id === executionId)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  refreshFunctions().catch(() => {});
}

async function refreshExecutions() {
  const name = state.current;
  const params = new URLSearchParams({ limit: "500" });
  if ($("filter-status").value) params.set("status", $("filter-status").value);
  if ($("filter-trigger").value) params.set("trigger_type", $("filter-trigger").value);
  const runs = await apiJSON(`/api/v1/functions/${encodeURIComponent(name)}/executions?${params}`);
  if (name !== state.current) return runs;
  const body = $("executions").tBodies[0];
  body.replaceChildren();
  for (const run of runs.slice(0, 100)) {
    const row = el("tr");
    row.dataset.id = run.id;
    row.append(
      el("td", when(run.executed_at)), el("td", run.status, `st-${run.status}`),
      el("td", run.status_code ?? ""), el("td", run.duration_ms === null ? "" : `${run.duration_ms} ms`),
      el("td", run.trigger_type), el("td", run.function_version));
    row.addEventListener("click", () => showExecution(run, row));
    body.append(row);
  }
  drawChart($("chart"), runs);
  return runs;
}

function showExecution(run, row) {
  for (const other of $("executions").tBodies[0].rows) other.classList.toggle("selected", other === row);
  $("execution-detail").hidden = false;
  $("execution-id").textContent = run.id;
  $("execution-logs").textContent = run.logs || "(no console output)";
  $("execution-error").textContent = run.error_message || "(none)";
  $("execution-result").textContent = run.result ?? "";
}

// ---- live logs (Server-Sent Events read with fetch: EventSource cannot send the token) -------

function stopLive() {
  if (state.live) state.live.abort();
  state.live = null;
}

async function startLive(name) {
  stopLive();
  const controller = new AbortController();
  state.live = controller;
  const out = $("live-logs");
  out.textContent = "";
  let lastId = null;
  while (!controller.signal.aborted) {
    try {
      const headers = lastId ? { "Last-Event-ID": lastId } : {};
      const response = await api(`/api/v1/functions/${encodeURIComponent(name)}/logs`,
        { headers, signal: controller.signal });
      if (!response.ok) return;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = parseEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (!event) continue;
          lastId = event.id || lastId;
          out.append(el("div", liveLine(event), event.type === "execution" ? `st-${event.data.status}` : ""));
          out.scrollTop = out.scrollHeight;
        }
      }
    } catch (error) {
      if (controller.signal.aborted || error instanceof ApiError) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000)); // dropped: resume after a pause
  }
}

function parseEvent(block) {
  const fields = {};
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const key = colon < 0 ? line : line.slice(0, colon);
    fields[key] = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
  }
  if (fields.data === undefined) return null;
  try {
    return { id: fields.id, type: fields.event, data: JSON.parse(fields.data) };
  } catch {
    return null;
  }
}

function liveLine(event) {
  const data = event.data;
  const short = String(data.execution_id || "").slice(0, 8);
  if (event.type === "console") return `[${short}] ${data.level}: ${data.message}`;
  const error = data.error ? ` — ${data.error}` : "";
  return `[${short}] ${data.status} ${data.status_code} in ${Number(data.duration_ms).toFixed(1)} ms${error}`;
}

// ---- the chart: invocations and errors (bars), p50 and p99 duration (lines) over time ---------

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function buckets(runs, count = 24) {
  const times = runs.map((run) => Date.parse(run.executed_at)).filter((t) => !Number.isNaN(t));
  if (!times.length) return [];
  // The axis ends now and spans at least a minute, so a few calls do not fill the whole width.
  const last = Math.max(Date.now(), ...times);
  const first = Math.min(last - 60_000, ...times);
  const width = Math.max(1000, Math.ceil((last - first + 1) / count));
  const slots = Array.from({ length: count }, (_, i) => ({ start: first + i * width, width, total: 0, errors: 0, durations: [] }));
  for (const run of runs) {
    const t = Date.parse(run.executed_at);
    if (Number.isNaN(t)) continue;
    const slot = slots[Math.min(count - 1, Math.floor((t - first) / width))];
    slot.total += 1;
    if (run.status !== "success") slot.errors += 1;
    if (run.duration_ms !== null) slot.durations.push(run.duration_ms);
  }
  for (const slot of slots) {
    slot.durations.sort((a, b) => a - b);
    slot.p50 = percentile(slot.durations, 50);
    slot.p99 = percentile(slot.durations, 99);
  }
  return slots;
}

function svgEl(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawChart(svg, runs) {
  const width = svg.clientWidth || 640;
  const height = svg.clientHeight || 220;
  const pad = { left: 36, right: 48, top: 22, bottom: 24 };
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren();
  const slots = buckets(runs);
  const total = runs.length;
  const errors = runs.filter((run) => run.status !== "success").length;
  svg.dataset.invocations = String(total);
  svg.dataset.errors = String(errors);
  if (!slots.length) {
    svg.append(svgEl("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "No executions yet"));
    return;
  }
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const maxCount = Math.max(1, ...slots.map((s) => s.total));
  const maxMs = Math.max(1, ...slots.map((s) => s.p99 ?? 0));
  const x = (i) => pad.left + (i * plotW) / slots.length;
  const yCount = (n) => pad.top + plotH - (n / maxCount) * plotH;
  const yMs = (ms) => pad.top + plotH - (ms / maxMs) * plotH;
  const barW = Math.max(1, plotW / slots.length - 2);
  svg.append(
    svgEl("line", { class: "axis", x1: pad.left, y1: pad.top + plotH, x2: pad.left + plotW, y2: pad.top + plotH }),
    svgEl("text", { x: pad.left - 4, y: pad.top + 4, "text-anchor": "end" }, String(maxCount)),
    svgEl("text", { x: pad.left + plotW + 4, y: pad.top + 4 }, `${maxMs} ms`),
    svgEl("text", { x: pad.left, y: height - 6 }, new Date(slots[0].start).toLocaleTimeString()),
    svgEl("text", { x: pad.left + plotW, y: height - 6, "text-anchor": "end" },
      new Date(slots[slots.length - 1].start + slots[0].width).toLocaleTimeString()),
    svgEl("text", { x: pad.left, y: 12 },
      `${total} invocations · ${errors} errors · bars: calls (red: errors) · lines: p50 (green), p99 (orange) duration`));
  slots.forEach((slot, i) => {
    if (!slot.total) return;
    const label = `${new Date(slot.start).toLocaleTimeString()}: ${slot.total} calls, ${slot.errors} errors, p50 ${slot.p50} ms, p99 ${slot.p99} ms`;
    const bar = svgEl("rect", { class: "bar-invocations", x: x(i) + 1, y: yCount(slot.total), width: barW, height: pad.top + plotH - yCount(slot.total) });
    bar.append(svgEl("title", {}, label));
    svg.append(bar);
    if (slot.errors) {
      svg.append(svgEl("rect", { class: "bar-errors", x: x(i) + 1, y: yCount(slot.errors), width: barW, height: pad.top + plotH - yCount(slot.errors) }));
    }
  });
  for (const [key, className] of [["p50", "line-p50"], ["p99", "line-p99"]]) {
    const points = slots.map((slot, i) => (slot[key] === null ? null : `${x(i) + barW / 2 + 1},${yMs(slot[key])}`)).filter(Boolean);
    if (points.length === 1) points.push(points[0].replace(/^([\d.]+)/, (v) => String(Number(v) + 2)));
    svg.append(svgEl("polyline", { class: className, points: points.join(" ") }));
  }
}

// ---- wiring --------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("signin").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut());
  $("refresh").addEventListener("click", () => refreshFunctions().then(() => state.current && refreshExecutions()));
  $("show-overview").addEventListener("click", () => showOverview());
  $("new-function").addEventListener("submit", createFunction);
  $("code-form").addEventListener("submit", deployCode);
  $("code-file").addEventListener("change", switchFile);
  $("invoke-form").addEventListener("submit", invoke);
  $("filter-status").addEventListener("change", () => refreshExecutions());
  $("filter-trigger").addEventListener("change", () => refreshExecutions());
  if (state.token) showApp().catch(() => {});
});

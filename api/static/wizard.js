// The import wizard: a client of the public API only (docs/api.md), with the same bearer token
// any client sends. Every value that comes from a file or the server (headers, cells, file
// names, error values, messages) is put into the page as text (textContent, text nodes,
// option.text), never parsed as markup; the page's Content-Security-Policy forbids inline
// script on top of that. See docs/wizard.md.

const TOKEN_KEY = "leadimport.token"; // sessionStorage: this tab only
const MAX_FILE_BYTES = 10 * 1024 * 1024; // the API's limit (docs/api.md, "Files")
const ROW_PAGE = 50; // errors / warnings per page
const POLL_MS = 1000;
const FINAL = new Set(["completed", "failed", "cancelled", "undone"]);
const RUNNING = new Set(["queued", "in_progress"]);
const STATUS_TEXT = {
  queued: "queued",
  in_progress: "in progress",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
  undoing: "undoing",
  undone: "undone",
};
const MODE_TEXT = { upsert: "create and update", create_only: "create only", update_only: "update only" };
const DELIMITER_TEXT = { ",": "comma ,", ";": "semicolon ;", "\t": "tab", "|": "pipe |" };
const ENCODING_SOURCE_TEXT = {
  requested: "as you chose",
  bom: "declared by a byte order mark",
  detected: "detected",
  guessed: "guessed",
};

const $ = (id) => document.getElementById(id);
const number = new Intl.NumberFormat("en");

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  targets: null, // GET /leads/import/fields
  encodings: null, // from /openapi.json, for the encoding list
  file: null, // the chosen File, kept to read it again with another encoding or delimiter
  preview: null, // the answer of POST /leads/import/preview
  idempotencyKey: null,
  view: null,
  generation: 0, // bumped on every view change: a poll of an old view stops
  notice: "", // said on the next view shown, then gone
};

// --- DOM helpers: text only ---------------------------------------------------------------

/** An element with text children (strings become text nodes) and a few plain properties. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "scope") {
      node.setAttribute(key, value);
    } else node[key] = value;
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function setText(id, value) {
  const text = value == null ? "" : String(value);
  // Unchanged text is left alone: a live region would announce it again at every poll.
  if ($(id).textContent !== text) $(id).textContent = text;
}

function clear(node) {
  node.replaceChildren();
}

function fmt(n) {
  return typeof n === "number" && Number.isFinite(n) ? number.format(n) : "–";
}

function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `about ${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `about ${m} min ${s % 60} s`;
  return `about ${Math.floor(m / 60)} h ${m % 60} min`;
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function megabytes(bytes) {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

// A unique Idempotency-Key (crypto.randomUUID needs a secure context; this does not).
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// --- the API --------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * A request to the API with the bearer token. Resolves to the parsed JSON (or the Response when
 * `raw`); rejects with an ApiError carrying the API's own `error.message`. A 401 after signing
 * in signs out: the token was revoked or is wrong.
 */
async function api(path, { method = "GET", json, form, raw = false, headers = {}, token } = {}) {
  const h = new Headers(headers);
  h.set("Authorization", `Bearer ${token ?? state.token}`);
  let body;
  if (json !== undefined) {
    h.set("Content-Type", "application/json");
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  let response;
  try {
    response = await fetch(path, { method, headers: h, body, cache: "no-store" });
  } catch {
    throw new ApiError(0, "network", "The service did not answer. Check that it runs, then try again.");
  }
  if (response.ok) return raw ? response : response.json();
  let code = `http_${response.status}`;
  let message = `The service answered ${response.status} ${response.statusText}.`.replace(" .", ".");
  try {
    const problem = await response.json();
    if (problem && problem.error && typeof problem.error.message === "string") {
      code = String(problem.error.code);
      message = problem.error.message;
    }
  } catch {
    // not JSON: keep the status line
  }
  const retry = response.headers.get("Retry-After");
  if (response.status === 429 && retry && /^\d+$/.test(retry)) {
    message += ` Try again in ${duration(Number(retry))}.`;
  }
  const error = new ApiError(response.status, code, message);
  if (response.status === 401 && token === undefined) {
    signOut(`Signed out: the API no longer accepts the token. ${message}`);
  }
  throw error;
}

// --- views and routing ----------------------------------------------------------------------

const VIEWS = ["signin", "upload", "preview", "mapping", "progress", "result", "jobs"];
const STEP_OF = { upload: "upload", preview: "preview", mapping: "mapping", progress: "progress", result: "result" };

function show(view, { focus = true } = {}) {
  state.generation += 1;
  state.view = view;
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  setText("notice", state.notice);
  state.notice = "";
  const signedIn = view !== "signin";
  $("nav").hidden = !signedIn;
  for (const link of document.querySelectorAll("[data-nav]")) {
    const current = link.dataset.nav === (view === "jobs" ? "jobs" : "upload") && view !== "result";
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const step = STEP_OF[view];
  $("steps").hidden = !step;
  for (const item of $("steps").children) {
    if (item.dataset.step === step) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
  }
  if (focus) {
    const heading = $(`view-${view}`).querySelector("h1");
    heading.focus();
  }
  window.scrollTo(0, 0);
  return state.generation;
}

/** A message for the view shown next (or the current one, when no view change follows). */
function notice(text) {
  state.notice = text;
  setText("notice", text);
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  if (!state.token) {
    show("signin");
    return;
  }
  if (!state.targets) {
    try {
      state.targets = await api("/leads/import/fields");
    } catch (e) {
      if (e.status !== 401) {
        show("signin");
        setText("signin-error", e.message);
      }
      return;
    }
  }
  const hash = location.hash || "#/upload";
  const [path, query = ""] = hash.slice(1).split("?");
  const params = new URLSearchParams(query);
  const job = path.match(/^\/jobs\/([^/]+)$/);
  if (job) {
    await openJob(decodeURIComponent(job[1]));
  } else if (path === "/jobs") {
    await showJobs(Number(params.get("page")) || 1, Number(params.get("limit")) || 25);
  } else if (path === "/preview" && state.preview) {
    showPreview();
  } else if (path === "/mapping" && state.preview) {
    show("mapping");
  } else {
    showUpload();
  }
}

// --- 1. sign in -----------------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  setText("signin-error", "");
  if (!token) {
    setText("signin-error", "Paste your API token first.");
    $("token").focus();
    return;
  }
  $("signin-submit").disabled = true;
  try {
    // Any endpoint proves the token; this one also gives the mapping targets.
    state.targets = await api("/leads/import/fields", { token });
  } catch (e) {
    const message =
      e.status === 401
        ? `The API did not accept this token: ${e.message} Check that you copied the whole token.`
        : e.message;
    setText("signin-error", message);
    $("token").setAttribute("aria-invalid", "true");
    $("token").focus();
    return;
  } finally {
    $("signin-submit").disabled = false;
  }
  $("token").removeAttribute("aria-invalid");
  $("token").value = "";
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  notice("Signed in.");
  if (!location.hash || location.hash === "#/signin") go("#/upload");
  else route();
}

function signOut(message = "Signed out.") {
  state.token = "";
  state.targets = null;
  state.preview = null;
  state.file = null;
  sessionStorage.removeItem(TOKEN_KEY);
  notice(message);
  show("signin");
}

// --- 2. upload ------------------------------------------------------------------------------

function showUpload() {
  show("upload");
  $("file").value = "";
  setText("upload-status", "");
  setText("upload-error", "");
}

async function chooseFile(file) {
  setText("upload-error", "");
  if (!file) return;
  if (file.size > MAX_FILE_BYTES) {
    setText(
      "upload-error",
      `“${file.name}” is ${megabytes(file.size)} (${fmt(file.size)} bytes): over the 10 MB limit ` +
        `(${fmt(MAX_FILE_BYTES)} bytes). Split it into smaller files.`,
    );
    return;
  }
  state.file = file;
  await sendPreview({}, "upload");
}

/** POST /leads/import/preview with the chosen file (and an encoding or delimiter to use). */
async function sendPreview(options, from) {
  const status = from === "upload" ? "upload-status" : "rr-error";
  const errorId = from === "upload" ? "upload-error" : "rr-error";
  const form = new FormData();
  form.append("file", state.file, state.file.name);
  if (options.encoding) form.append("encoding", options.encoding);
  if (options.delimiter) form.append("delimiter", options.delimiter);
  setText(errorId, "");
  if (from === "upload") setText(status, `Reading “${state.file.name}”…`);
  try {
    state.preview = await api("/leads/import/preview", { method: "POST", form });
  } catch (e) {
    if (from === "upload") setText(status, "");
    setText(errorId, e.message);
    return;
  }
  if (from === "upload") setText(status, "");
  state.idempotencyKey = newKey();
  fillMapping();
  if (location.hash === "#/preview") showPreview();
  else go("#/preview");
}

function setupDropzone() {
  const zone = $("dropzone");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const files = event.dataTransfer && event.dataTransfer.files;
    if (files && files.length > 1) {
      setText("upload-error", "Drop one file at a time.");
      return;
    }
    if (files && files.length === 1) {
      $("file").value = ""; // the chooser no longer names another file
      chooseFile(files[0]);
    }
  });
  // A file dropped beside the zone would open it in the tab: ignore it.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
  $("file").addEventListener("change", () => chooseFile($("file").files[0]));
}

// --- 3. preview -----------------------------------------------------------------------------

function showPreview() {
  const p = state.preview;
  show("preview");
  setText("pv-name", p.file_name);
  setText("pv-rows", `${fmt(p.row_count)} (header and blank rows not counted)`);
  setText("pv-encoding", `${p.encoding} (${ENCODING_SOURCE_TEXT[p.encoding_source] || p.encoding_source})`);
  setText("pv-delimiter", DELIMITER_TEXT[p.delimiter] || p.delimiter);
  $("pv-guessed").hidden = p.encoding_source !== "guessed";
  const table = $("pv-table");
  const head = table.tHead;
  const body = table.tBodies[0];
  clear(head);
  clear(body);
  head.append(el("tr", {}, ...p.headers.map((h) => el("th", { scope: "col", text: h }))));
  for (const row of p.sample_rows) {
    const cells = p.headers.map((_, i) => el("td", { text: row[i] ?? "" }));
    body.append(el("tr", {}, ...cells));
  }
  if (p.sample_rows.length === 0) {
    body.append(el("tr", {}, el("td", { colSpan: Math.max(1, p.headers.length), text: "The file has no data rows." })));
  }
  $("rr-encoding").value = p.encoding_source === "requested" ? p.encoding : "";
  setText("rr-error", "");
  loadEncodings();
}

/** The encoding names the preview accepts, from the public /openapi.json (one request). */
async function loadEncodings() {
  if (state.encodings) return;
  state.encodings = [];
  try {
    const response = await fetch("/openapi.json");
    const doc = await response.json();
    const upload = doc.components.schemas.PreviewUpload.properties.encoding;
    state.encodings = Array.isArray(upload.enum) ? upload.enum : [];
  } catch {
    return; // the field still takes any name the API knows
  }
  $("encodings").replaceChildren(...state.encodings.map((name) => el("option", { value: name })));
}

// --- 4. mapping -----------------------------------------------------------------------------

function kinds() {
  const found = state.targets.alias_targets.map((t) => t.kind);
  return [...new Set(found)];
}

/** The choices of one column: ignore, a profile field, an alias target. */
function choiceSelect(id) {
  const select = el("select", { id });
  select.append(el("option", { value: "ignore", text: "Ignore" }));
  const fields = el("optgroup", { label: "Profile field" });
  for (const f of state.targets.fields) {
    fields.append(el("option", { value: `field:${f.name}`, text: `${f.name}: ${f.description}` }));
  }
  const aliases = el("optgroup", { label: "Alias: one more identifier" });
  for (const a of state.targets.alias_targets) {
    aliases.append(el("option", { value: `alias:${a.target}`, text: `${a.target}: ${a.description}` }));
  }
  select.append(fields, aliases);
  return select;
}

function sampleValues(index) {
  const values = [];
  for (const row of state.preview.sample_rows) {
    const v = (row[index] ?? "").trim();
    if (v && !values.includes(v)) values.push(v);
    if (values.length === 2) break;
  }
  return values;
}

/** Fills the mapping form from the preview's suggested_mappings. */
function fillMapping() {
  const p = state.preview;
  const s = p.suggested_mappings;
  const primary = $("primary-column");
  primary.replaceChildren(el("option", { value: "", text: "Choose a column…" }));
  p.headers.forEach((h, i) => primary.append(el("option", { value: String(i), text: h })));
  const kind = $("primary-kind");
  kind.replaceChildren(...kinds().map((k) => el("option", { value: k, text: k })));
  const suggested = s.primary_identifier;
  primary.value = suggested ? String(p.headers.indexOf(suggested.column)) : "";
  kind.value = suggested ? suggested.kind : "email";

  const body = $("map-table").tBodies[0];
  clear(body);
  p.headers.forEach((header, i) => {
    const select = choiceSelect(`map-${i}`);
    if (header in s.field_mappings) select.value = `field:${s.field_mappings[header]}`;
    else if (header in s.alias_mappings) select.value = `alias:${s.alias_mappings[header]}`;
    else select.value = "ignore";
    select.dataset.column = String(i);
    const samples = sampleValues(i);
    const sampleCell = el("td", { class: "sample" });
    samples.forEach((v) => sampleCell.append(el("span", { class: "value", text: v })));
    if (!samples.length) sampleCell.append(el("span", { class: "muted", text: "(empty)" }));
    const label = el("label", { htmlFor: `map-${i}`, text: header });
    body.append(
      el("tr", {}, el("th", { scope: "row" }, label), sampleCell, el("td", { class: "choice-cell" }, select)),
    );
  });
  markPrimary();
  for (const radio of document.querySelectorAll('input[name="mode"]')) radio.checked = radio.value === "upsert";
  $("dry-run").checked = false;
  $("country").value = "US";
  clear($("mapping-errors"));
}

/** The primary column's line says so: its "Ignore" reads "Primary identifier only". */
function markPrimary() {
  const primary = $("primary-column").value;
  for (const select of $("map-table").querySelectorAll("select")) {
    const isPrimary = select.dataset.column === primary;
    select.options[0].text = isPrimary ? "Primary identifier only" : "Ignore";
    const cell = select.closest("tr").querySelector("th");
    const tag = cell.querySelector(".tag");
    if (isPrimary && !tag) cell.append(el("span", { class: "tag", text: "primary identifier" }));
    if (!isPrimary && tag) tag.remove();
  }
}

/** The kind a column holds, when the preview tells (for the primary identifier's kind). */
function kindOfColumn(index) {
  const p = state.preview;
  const header = p.headers[index];
  const alias = p.suggested_mappings.alias_mappings[header];
  const target = state.targets.alias_targets.find((t) => t.target === alias);
  if (target) return target.kind;
  if (p.auto_detected_identifiers.email_columns.includes(header)) return "email";
  if (p.auto_detected_identifiers.phone_columns.includes(header)) return "phone";
  return null;
}

/** The start request the form describes, and what is wrong with it (explained in words). */
function readMapping() {
  const p = state.preview;
  const problems = [];
  const primaryIndex = $("primary-column").value;
  const fieldMappings = {};
  const aliasMappings = {};
  const columnsOfField = new Map();
  for (const select of $("map-table").querySelectorAll("select")) {
    const header = p.headers[Number(select.dataset.column)];
    const [what, target] = select.value.split(/:(.*)/s);
    if (what === "field") {
      fieldMappings[header] = target;
      columnsOfField.set(target, [...(columnsOfField.get(target) || []), header]);
    } else if (what === "alias") {
      aliasMappings[header] = target;
    }
    if (primaryIndex !== "" && Number(primaryIndex) === Number(select.dataset.column) && what !== "ignore") {
      problems.push({
        text: `Column “${header}” is the primary identifier and is also set to be imported as ${target}. A column is imported once: set its line to “Ignore”, or choose another primary column.`,
        focus: select,
      });
    }
  }
  if (primaryIndex === "") {
    problems.unshift({
      text: "Choose the primary identifier: the column whose value finds a lead (usually the e-mail address).",
      focus: $("primary-column"),
    });
  }
  for (const [field, headers] of columnsOfField) {
    if (headers.length > 1) {
      problems.push({
        text: `The profile field ${field} is chosen for ${headers.length} columns (${headers.map((h) => `“${h}”`).join(", ")}). A field takes one column: set the others to another field or to “Ignore”.`,
        focus: $("map-table").querySelectorAll("select")[p.headers.indexOf(headers[1])],
      });
    }
  }
  const mode = document.querySelector('input[name="mode"]:checked').value;
  const request = {
    file_id: p.file_id,
    primary_identifier: { column: p.headers[Number(primaryIndex)] ?? "", kind: $("primary-kind").value },
    field_mappings: fieldMappings,
    alias_mappings: aliasMappings,
    mode,
    dry_run: $("dry-run").checked,
    default_country: $("country").value.trim() || "US",
  };
  return { request, problems };
}

function showProblems(problems) {
  const box = $("mapping-errors");
  clear(box);
  if (!problems.length) return;
  box.append(el("p", { text: problems.length === 1 ? "Fix this before starting:" : "Fix these before starting:" }));
  box.append(el("ul", {}, ...problems.map((p) => el("li", { text: p.text }))));
}

async function startImport(event) {
  event.preventDefault();
  const { request, problems } = readMapping();
  showProblems(problems);
  if (problems.length) {
    problems[0].focus.focus();
    return;
  }
  const button = $("start");
  button.disabled = true;
  try {
    const started = await api("/leads/import/start", {
      method: "POST",
      json: request,
      headers: { "Idempotency-Key": state.idempotencyKey },
    });
    state.idempotencyKey = newKey(); // a new start of the same preview is a new job
    const ignored = started.ignored_fields && started.ignored_fields.length
      ? ` Ignored unknown fields: ${started.ignored_fields.join(", ")}.`
      : "";
    notice(`Import started.${ignored}`);
    go(`#/jobs/${encodeURIComponent(started.job_id)}`);
  } catch (e) {
    showProblems([{ text: e.message }]);
    $("mapping-errors").focus();
  } finally {
    button.disabled = false;
  }
}

// --- 5. progress ----------------------------------------------------------------------------

async function openJob(jobId) {
  let job;
  try {
    job = await api(`/leads/import/jobs/${encodeURIComponent(jobId)}`);
  } catch (e) {
    if (e.status === 401) return;
    show("jobs");
    setText("jobs-error", e.message);
    return;
  }
  if (RUNNING.has(job.status)) watch(job);
  else showResult(job);
}

/** Rows done: the API's processed_rows, else what the counters add up to. */
function processed(job) {
  if (typeof job.processed_rows === "number") return job.processed_rows;
  return job.created_count + job.updated_count + job.failed_count + (job.skipped_count || 0);
}

function watch(job) {
  const generation = show("progress");
  setText("pg-error", "");
  $("pg-cancel").disabled = false;
  $("pg-cancel").onclick = () => cancelJob(job.job_id);
  const samples = []; // [time in s, rows done]: the speed when the API does not tell it
  const tick = async (current) => {
    if (generation !== state.generation) return;
    renderProgress(current, samples);
    if (!RUNNING.has(current.status)) {
      showResult(current);
      return;
    }
    setTimeout(async () => {
      if (generation !== state.generation) return;
      try {
        tick(await api(`/leads/import/jobs/${encodeURIComponent(job.job_id)}`));
      } catch (e) {
        if (generation !== state.generation) return;
        setText("pg-error", `${e.message} Trying again…`);
        tick(current);
      }
    }, POLL_MS);
  };
  tick(job);
}

function renderProgress(job, samples) {
  const done = processed(job);
  const total = job.total_rows;
  const percent =
    typeof job.percent === "number" ? job.percent : total > 0 ? (100 * done) / total : job.status === "completed" ? 100 : 0;
  setText("pg-file", job.file_name);
  setText("pg-status", STATUS_TEXT[job.status] || job.status);
  $("pg-bar").value = Math.min(100, Math.max(0, percent));
  $("pg-bar").setAttribute("aria-valuetext", `${Math.floor(percent)} percent, ${fmt(done)} of ${fmt(total)} rows`);
  setText("pg-percent", `${Math.floor(percent)} %`);
  setText("pg-rows", `${fmt(done)} of ${fmt(total)}`);
  let rate = typeof job.rows_per_second === "number" ? job.rows_per_second : null;
  let eta = typeof job.eta_seconds === "number" ? job.eta_seconds : null;
  const now = performance.now() / 1000;
  if (job.status === "in_progress") samples.push([now, done]);
  if (rate === null && samples.length >= 2) {
    const [t0, d0] = samples[0];
    const [t1, d1] = samples[samples.length - 1];
    if (t1 > t0) rate = (d1 - d0) / (t1 - t0);
  }
  if (eta === null && rate) eta = (total - done) / rate;
  setText("pg-rate", rate === null ? "–" : `${fmt(Math.round(rate))} rows/s`);
  setText("pg-eta", job.status === "queued" ? "waiting to start" : eta === null ? "–" : duration(eta));
  setText("pg-created", fmt(job.created_count));
  setText("pg-updated", fmt(job.updated_count));
  setText("pg-skipped", fmt(job.skipped_count || 0));
  setText("pg-failed", fmt(job.failed_count));
}

async function cancelJob(jobId) {
  $("pg-cancel").disabled = true;
  setText("pg-error", "");
  try {
    const job = await api(`/leads/import/jobs/${encodeURIComponent(jobId)}/cancel`, { method: "POST" });
    notice("The import was cancelled: rows not applied yet never will be.");
    showResult(job);
  } catch (e) {
    setText("pg-error", e.message);
    $("pg-cancel").disabled = false;
  }
}

// --- 6. result ------------------------------------------------------------------------------

function showResult(job, { focus = true } = {}) {
  const generation = show("result", { focus });
  setText("rs-file", job.file_name);
  setText("rs-status", STATUS_TEXT[job.status] || job.status);
  setText(
    "rs-when",
    `(${MODE_TEXT[job.mode] || job.mode}; started ${when(job.created_at)}${job.completed_at ? `, ended ${when(job.completed_at)}` : ""})`,
  );
  $("rs-dry-run").hidden = !job.dry_run;
  $("rs-failure").hidden = !job.failure_reason;
  setText("rs-failure", job.failure_reason ? `The job failed: ${job.failure_reason}` : "");
  setText("rs-total", fmt(job.total_rows));
  setText("rs-created", fmt(job.created_count));
  setText("rs-updated", fmt(job.updated_count));
  setText("rs-skipped", fmt(job.skipped_count || 0));
  setText("rs-failed", fmt(job.failed_count));
  setText("rs-warnings-count", fmt(job.warnings_total));
  setText("rs-error", "");
  if (job.status !== "undoing") setText("rs-message", "");
  renderUndoReport(job.undo_report);
  const undoable = (job.status === "completed" || job.status === "cancelled") && !job.dry_run;
  $("rs-undo").hidden = !undoable;
  $("rs-undo").onclick = () => confirmUndo(job);
  $("rs-dl-errors").onclick = () => downloadFile(job.job_id, "errors.csv");
  $("rs-dl-results").onclick = () => downloadFile(job.job_id, "results.csv");
  rowPages("errors", job, generation);
  rowPages("warnings", job, generation);
  if (job.status === "undoing") {
    setText("rs-message", "Undoing the import…");
    setTimeout(async () => {
      if (generation !== state.generation) return;
      try {
        const next = await api(`/leads/import/jobs/${encodeURIComponent(job.job_id)}`);
        if (generation === state.generation) showResult(next, { focus: false });
        if (next.status === "undone") setText("rs-message", "The import was undone.");
      } catch (e) {
        setText("rs-error", e.message);
      }
    }, POLL_MS);
  }
}

function renderUndoReport(report) {
  $("rs-undo-report").hidden = !report;
  if (!report) return;
  setText("ur-deleted", fmt(report.leads_deleted));
  setText("ur-reverted", fmt(report.leads_reverted));
  setText("ur-fields", fmt(report.fields_reverted));
  setText("ur-aliases", fmt(report.aliases_removed));
  setText("ur-not-total", fmt(report.not_undone_total));
  $("ur-not-undone").replaceChildren(...report.not_undone.map((n) => el("li", { text: n.reason })));
}

/** A paged table of a job's errors or warnings (GET .../errors or .../warnings, cursors). */
function rowPages(kind, job, generation) {
  const table = $(`rs-${kind}`);
  const pager = $(`rs-${kind}-pager`);
  const total = kind === "errors" ? job.errors_total : job.warnings_total;
  const cursors = [null]; // the cursor of each page seen; the last is the page shown
  let next = null;
  $(`rs-${kind}-empty`).hidden = total > 0;
  $(`rs-${kind}-wrap`).hidden = total === 0;
  pager.hidden = total <= ROW_PAGE;
  clear(table.tBodies[0]);
  const [prevButton, nextButton] = pager.querySelectorAll("button");
  const load = async () => {
    const cursor = cursors[cursors.length - 1];
    const query = new URLSearchParams({ limit: String(ROW_PAGE) });
    if (cursor) query.set("cursor", cursor);
    let page;
    try {
      page = await api(`/leads/import/jobs/${encodeURIComponent(job.job_id)}/${kind}?${query}`);
    } catch (e) {
      if (generation === state.generation) setText("rs-error", e.message);
      return;
    }
    if (generation !== state.generation) return;
    next = page.next_cursor;
    const items = page[kind];
    table.tBodies[0].replaceChildren(
      ...items.map((item) =>
        el(
          "tr",
          {},
          el("td", { class: "num", text: String(item.row) }),
          el("td", { text: kind === "errors" ? item.error : item.warning }),
          el("td", { class: "value", text: item.value ?? "" }),
        ),
      ),
    );
    const first = (cursors.length - 1) * ROW_PAGE + 1;
    pager.querySelector(".page-label").textContent = items.length
      ? `${fmt(first)}–${fmt(first + items.length - 1)} of ${fmt(total)}`
      : `none of ${fmt(total)}`;
    prevButton.disabled = cursors.length === 1;
    nextButton.disabled = !next;
  };
  prevButton.onclick = () => {
    cursors.pop();
    load();
  };
  nextButton.onclick = () => {
    if (!next) return;
    cursors.push(next);
    load();
  };
  if (total > 0) load();
}

/** A result file: fetched with the token (a link could not send it), saved from a blob. */
async function downloadFile(jobId, name) {
  setText("rs-error", "");
  setText("rs-message", `Preparing ${name}…`);
  let response;
  let blob;
  try {
    response = await api(`/leads/import/jobs/${encodeURIComponent(jobId)}/${name}`, { raw: true });
    blob = await response.blob();
  } catch (e) {
    setText("rs-message", "");
    setText("rs-error", e.message);
    return;
  }
  const filename = filenameOf(response.headers.get("Content-Disposition")) || name;
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  setText("rs-message", `Downloaded ${filename}.`);
}

/** The file name of a Content-Disposition header (RFC 6266: filename* first). */
function filenameOf(header) {
  if (!header) return null;
  const star = header.match(/filename\*=UTF-8''([^;]+)/i);
  if (star) {
    try {
      return decodeURIComponent(star[1]);
    } catch {
      // fall through to the plain name
    }
  }
  const plain = header.match(/filename="([^"]*)"/i);
  return plain ? plain[1] : null;
}

function confirmUndo(job) {
  const dialog = $("undo-dialog");
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "undo") {
      $("rs-undo").focus();
      return;
    }
    setText("rs-error", "");
    try {
      await api(`/leads/import/jobs/${encodeURIComponent(job.job_id)}/undo`, { method: "POST" });
    } catch (e) {
      setText("rs-error", e.message);
      return;
    }
    const next = await api(`/leads/import/jobs/${encodeURIComponent(job.job_id)}`).catch(() => ({ ...job, status: "undoing" }));
    showResult(next, { focus: false });
    $("rs-status").closest("p").setAttribute("tabindex", "-1");
    $("rs-status").closest("p").focus();
  };
  dialog.showModal();
}

// --- 7. jobs --------------------------------------------------------------------------------

async function showJobs(page, limit) {
  const generation = show("jobs");
  setText("jobs-error", "");
  $("jobs-limit").value = String(limit);
  let listing;
  try {
    listing = await api(`/leads/import/jobs?page=${page}&limit=${limit}`);
  } catch (e) {
    setText("jobs-error", e.message);
    return;
  }
  if (generation !== state.generation) return;
  const body = $("jobs-table").tBodies[0];
  body.replaceChildren(
    ...listing.jobs.map((job) => {
      const link = el("a", { href: `#/jobs/${encodeURIComponent(job.job_id)}`, text: job.file_name || job.job_id });
      return el(
        "tr",
        {},
        el("td", { class: "file" }, link, job.dry_run ? el("span", { class: "tag", text: "dry run" }) : ""),
        el("td", { "data-label": "Started", text: when(job.created_at) }),
        el("td", { "data-label": "Status", text: STATUS_TEXT[job.status] || job.status }),
        el("td", { class: "num", "data-label": "Rows", text: fmt(job.total_rows) }),
        el("td", { class: "num", "data-label": "Created", text: fmt(job.created_count) }),
        el("td", { class: "num", "data-label": "Updated", text: fmt(job.updated_count) }),
        el("td", { class: "num", "data-label": "Skipped", text: fmt(job.skipped_count || 0) }),
        el("td", { class: "num", "data-label": "Failed", text: fmt(job.failed_count) }),
        el("td", { "data-label": "Mode", text: MODE_TEXT[job.mode] || job.mode }),
      );
    }),
  );
  $("jobs-empty").hidden = listing.total > 0;
  const pages = Math.max(1, Math.ceil(listing.total / limit));
  const pager = $("jobs-pager");
  pager.hidden = pages === 1 && page === 1;
  pager.querySelector(".page-label").textContent = `Page ${page} of ${pages} (${fmt(listing.total)} jobs)`;
  const [newer, older] = pager.querySelectorAll("button");
  newer.disabled = page <= 1;
  older.disabled = page >= pages;
  newer.onclick = () => go(`#/jobs?page=${page - 1}&limit=${limit}`);
  older.onclick = () => go(`#/jobs?page=${page + 1}&limit=${limit}`);
}

// --- start ----------------------------------------------------------------------------------

function setup() {
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => {
    signOut();
    history.replaceState(null, "", "#/upload");
  });
  setupDropzone();
  $("reread-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sendPreview({ encoding: $("rr-encoding").value.trim(), delimiter: $("rr-delimiter").value }, "reread");
  });
  $("pv-back").addEventListener("click", () => go("#/upload"));
  $("pv-next").addEventListener("click", () => go("#/mapping"));
  $("map-back").addEventListener("click", () => go("#/preview"));
  $("mapping-form").addEventListener("submit", startImport);
  $("primary-column").addEventListener("change", () => {
    markPrimary();
    const index = $("primary-column").value;
    if (index === "") return;
    const kind = kindOfColumn(Number(index));
    if (kind) $("primary-kind").value = kind;
  });
  $("jobs-limit").addEventListener("change", () => go(`#/jobs?page=1&limit=${$("jobs-limit").value}`));
  window.addEventListener("hashchange", route);
  route();
}

setup();

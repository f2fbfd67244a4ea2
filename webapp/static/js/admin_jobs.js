// The jobs dashboard: running and finished builds with per-stage progress, quarantined
// records with reasons, and re-run requests. Refreshes itself while a job runs.
import { api, byId, clear, el } from "./dom.js";

const PAGE = 20;
const view = { offset: 0, quarantineJob: null, quarantineOffset: 0, timer: null };

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function stageRow(stage) {
  const bar = el("progress", { attrs: { max: 1, value: stage.progress ?? (stage.status === "pending" ? 0 : undefined), "aria-label": `${stage.name} progress` } });
  const counts = `${stage.done}${stage.total ? ` / ${stage.total}` : ""}${stage.failed ? `, ${stage.failed} failed` : ""}`;
  return el("li", { className: `stage status-${stage.status}` }, [
    el("span", { className: "stage-name", text: stage.name }), bar, el("span", { className: "small muted", text: counts }),
  ]);
}

function jobRow(job) {
  const actions = el("td", { className: "actions" });
  if (job.quarantined) {
    const show = el("button", { className: "secondary", text: "Quarantine", attrs: { type: "button" } });
    show.addEventListener("click", () => showQuarantine(job.id, 0));
    actions.append(show);
  }
  if (job.status !== "running" && job.status !== "pending") {
    const rerun = el("button", { text: "Re-run", attrs: { type: "button" } });
    rerun.addEventListener("click", () => requestRerun(job.id));
    actions.append(rerun);
  }
  const error = job.error ? el("div", { className: "error small", text: job.error }) : null;
  return el("tr", {}, [
    el("td", {}, [el("strong", { text: `#${job.id}` }), ` ${job.kind}`]),
    el("td", {}, [el("span", { className: `badge status-${job.status}`, text: job.status }), error]),
    el("td", { text: when(job.started_at) }),
    el("td", { text: duration(job.seconds) }),
    el("td", {}, [el("ol", { className: "stages" }, job.stages.map(stageRow))]),
    el("td", { text: String(job.quarantined) }),
    actions,
  ]);
}

async function loadJobs() {
  const status = byId("status-filter").value;
  try {
    const page = await api("/api/v1/admin/jobs", { query: { limit: PAGE, offset: view.offset, status } });
    const body = clear(byId("jobs-body"));
    page.jobs.forEach((job) => body.append(jobRow(job)));
    if (!page.jobs.length) body.append(el("tr", {}, [el("td", { text: "No jobs yet.", attrs: { colspan: 7 } })]));
    byId("jobs-status").textContent = `${page.total} job${page.total === 1 ? "" : "s"}`;
    byId("older-jobs").disabled = page.next_offset === null;
    byId("newer-jobs").disabled = view.offset === 0;
    const running = page.jobs.some((job) => job.status === "running" || job.status === "pending");
    clearTimeout(view.timer);
    if (running) view.timer = setTimeout(loadJobs, 5000);
  } catch (error) {
    byId("jobs-status").textContent = `Cannot load jobs: ${error.message}`;
  }
}

async function showQuarantine(jobId, offset) {
  const page = await api(`/api/v1/admin/jobs/${jobId}/quarantine`, { query: { limit: 50, offset } });
  view.quarantineJob = jobId;
  view.quarantineOffset = page.next_offset;
  const section = byId("quarantine");
  section.hidden = false;
  byId("quarantine-heading").textContent = `Quarantined records of job #${jobId} (${page.total})`;
  const body = offset ? byId("quarantine-body") : clear(byId("quarantine-body"));
  for (const record of page.records) {
    body.append(el("tr", {}, [
      el("td", {}, [el("code", { text: record.location })]),
      el("td", { text: record.stage }),
      el("td", { text: record.reason }),
      el("td", {}, [el("details", {}, [el("summary", { text: record.record_key || "raw" }), el("pre", { text: record.raw })])]),
    ]));
  }
  byId("more-quarantine").hidden = page.next_offset === null;
  if (!offset) byId("quarantine-heading").focus();
}

async function requestRerun(jobId) {
  try {
    const result = await api(`/api/v1/admin/jobs/${jobId}/rerun`, { method: "POST" });
    view.offset = 0;
    await loadJobs();
    // after the list is reloaded, so its "N jobs" line does not hide what happened
    byId("jobs-status").textContent = result.note;
  } catch (error) {
    byId("jobs-status").textContent = `Re-run failed: ${error.message}`;
  }
}

byId("refresh-jobs").addEventListener("click", loadJobs);
byId("status-filter").addEventListener("change", () => { view.offset = 0; loadJobs(); });
byId("older-jobs").addEventListener("click", () => { view.offset += PAGE; loadJobs(); });
byId("newer-jobs").addEventListener("click", () => { view.offset = Math.max(0, view.offset - PAGE); loadJobs(); });
byId("more-quarantine").addEventListener("click", () => showQuarantine(view.quarantineJob, view.quarantineOffset));
loadJobs();

// The admin graph browser: full-text lookup, a cytoscape neighborhood that expands on click,
// type filters and layouts, facts filtered by the extractor that asserted them, node details
// with provenance, and edit / merge / delete.
import { api, byId, clear, el } from "./dom.js";

const COLORS = {
  Item: "#2563eb", Category: "#7c3aed", Brand: "#db2777", Value: "#0891b2", POI: "#16a34a",
  Problem: "#dc2626", Scene: "#ea580c", Crowd: "#ca8a04", Concept: "#4f46e5", Image: "#64748b",
  Entry: "#0d9488", Source: "#6b7280",
};
const hidden = new Set();
let selected = null;
// the extractor (every version) whose values were read from product photos
const photoExtractors = byId("node-relations").dataset.photoExtractors || null;

// the chosen extractor (name@version, or name@ for every version); "" for every extractor
const extractor = () => byId("extractor-select").value;

const cy = window.cytoscape({
  container: byId("graph"),
  wheelSensitivity: 0.3,
  style: [
    { selector: "node", style: {
      label: "data(name)", "font-size": 10, "text-valign": "bottom", "text-margin-y": 4,
      "text-wrap": "ellipsis", "text-max-width": 110, color: "#1f2937",
      "background-color": (node) => COLORS[node.data("label")] || "#6b7280", width: 22, height: 22,
    } },
    { selector: "node[?center]", style: { width: 32, height: 32, "border-width": 3, "border-color": "#111827" } },
    { selector: "node:selected", style: { "border-width": 4, "border-color": "#f59e0b" } },
    { selector: "edge", style: {
      width: 1.5, "line-color": "#cbd5e1", "target-arrow-color": "#cbd5e1", "target-arrow-shape": "triangle",
      "curve-style": "bezier", label: "data(type)", "font-size": 7, color: "#64748b", "text-rotation": "autorotate",
    } },
    { selector: ".filtered", style: { display: "none" } },
  ],
});

function setStatus(id, text, isError = false) {
  const node = byId(id);
  node.textContent = text;
  node.classList.toggle("error", isError);
}

function runLayout() {
  const name = byId("layout-select").value;
  cy.layout({ name, animate: false, fit: true, padding: 24, roots: selected ? [selected] : undefined }).run();
}

function applyFilter() {
  cy.nodes().forEach((node) => node.toggleClass("filtered", hidden.has(node.data("label"))));
}

function addGraph(graph) {
  const added = [];
  for (const node of graph.nodes) {
    if (cy.getElementById(node.id).empty()) {
      added.push({ group: "nodes", data: { id: node.id, label: node.label, key: node.key, name: node.name } });
    }
  }
  for (const edge of graph.edges) {
    if (cy.getElementById(edge.id).empty()) {
      added.push({ group: "edges", data: { id: edge.id, source: edge.source, target: edge.target, type: edge.type } });
    }
  }
  cy.add(added);
  cy.nodes().forEach((n) => n.data("center", n.id() === graph.center));
  applyFilter();
  runLayout();
}

async function expand(label, key) {
  try {
    const hops = Number(byId("hops-select").value);
    const query = { label, key, hops, limit: 60, extractor: extractor() };
    addGraph(await api("/api/v1/graph/neighborhood", { query }));
  } catch (error) {
    setStatus("edit-status", `Cannot expand: ${error.message}`, true);
  }
}

function nodeButton(node, text) {
  const button = el("button", { className: "link", attrs: { type: "button" } }, [
    el("span", { className: "badge", text: node.label }), " ", el("span", { text: text || node.name }),
  ]);
  button.addEventListener("click", () => select(node.label, node.key, true));
  return button;
}

async function showDetails(label, key) {
  const query = { label, key, rel_limit: 200, extractor: extractor() };
  const detail = await api("/api/v1/graph/node", { query });
  const node = detail.node;
  selected = node.id;
  byId("details-empty").hidden = true;
  byId("details-body").hidden = false;
  byId("node-label").textContent = node.label;
  byId("node-name").textContent = node.name;
  byId("node-key").textContent = node.key;
  const props = clear(byId("node-props"));
  for (const [name, value] of Object.entries(node.properties)) {
    props.append(el("tr", {}, [el("th", { text: name, attrs: { scope: "row" } }),
      el("td", { text: Array.isArray(value) ? value.join(", ") : String(value) })]));
  }
  const sources = clear(byId("node-sources"));
  detail.sources.slice(0, 20).forEach((s) => sources.append(el("li", {}, [el("code", { text: s })])));
  if (!detail.sources.length) sources.append(el("li", { className: "muted", text: "none recorded" }));
  byId("rel-count").textContent = `(${detail.total})`;
  const list = clear(byId("node-relations"));
  for (const rel of detail.relations) {
    const other = rel.other || { id: rel.other_id, label: rel.other_id.split(":")[0], key: rel.other_id.slice(rel.other_id.indexOf(":") + 1), name: rel.other_id };
    const prov = rel.provenance;
    const fromPhoto = photoExtractors && (prov.extractor || "").startsWith(photoExtractors);
    list.append(el("li", {}, [
      el("span", { className: "rel-type", text: rel.direction === "out" ? `${rel.type} →` : `← ${rel.type}` }), " ",
      nodeButton(other),
      fromPhoto ? el("span", { className: "muted small from-photo", text: ` — from the photo (${prov.confidence.toFixed(2)})` }) : null,
      el("div", { className: "muted small provenance", text: `from ${prov.source || "—"} · ${prov.extractor || "—"} · confidence ${prov.confidence.toFixed(2)}` }),
    ]));
  }
}

async function select(label, key, grow) {
  setStatus("edit-status", "");
  try {
    await showDetails(label, key);
    if (grow) await expand(label, key);
    cy.nodes().unselect();
    cy.getElementById(selected).select();
  } catch (error) {
    setStatus("edit-status", error.message, true);
  }
}

// offer every extractor with facts, and each one's every version (name@)
async function loadExtractors() {
  try {
    const { extractors } = await api("/api/v1/graph/extractors");
    const families = new Map();
    for (const { extractor: name, relations } of extractors) {
      const at = name.indexOf("@");
      if (at < 1) continue;
      const family = name.slice(0, at + 1);
      if (!families.has(family)) families.set(family, []);
      families.get(family).push({ name, relations });
    }
    const select = byId("extractor-select");
    for (const [family, versions] of families) {
      const total = versions.reduce((sum, v) => sum + v.relations, 0);
      select.append(el("optgroup", { attrs: { label: family.slice(0, -1) } }, [
        el("option", { text: `${family} any version (${total})`, attrs: { value: family } }),
        ...versions.map((v) => el("option", { text: `${v.name} (${v.relations})`, attrs: { value: v.name } })),
      ]));
    }
  } catch (error) {
    setStatus("edit-status", `Cannot list the extractors: ${error.message}`, true);
  }
}

async function loadAudit() {
  try {
    const page = await api("/api/v1/admin/audit", { query: { limit: 8 } });
    const log = clear(byId("audit-log"));
    page.entries.forEach((entry) => log.append(el("li", { text: `${entry.at.slice(0, 19).replace("T", " ")} ${entry.actor} ${entry.action} ${entry.target_kind}:${entry.target_key}` })));
  } catch (error) {
    setStatus("edit-status", error.message, true);
  }
}

function current() {
  const [label, ...rest] = selected.split(":");
  return { label, key: rest.join(":") };
}

function parseValue(text) {
  const trimmed = text.trim();
  if (trimmed !== "" && !Number.isNaN(Number(trimmed))) return Number(trimmed);
  if (trimmed === "true" || trimmed === "false") return trimmed === "true";
  return text;
}

byId("lookup-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = byId("lookup-input").value.trim();
  const label = byId("lookup-label").value;
  const results = clear(byId("lookup-results"));
  try {
    const page = await api("/api/v1/graph/lookup", { query: { q, labels: label ? [label] : [], limit: 20 } });
    page.hits.forEach((hit) => results.append(el("li", {}, [nodeButton(hit.node)])));
    setStatus("lookup-status", page.hits.length ? `${page.hits.length} found` : "No node has that name");
  } catch (error) {
    setStatus("lookup-status", error.message, true);
  }
});

byId("edit-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { label, key } = current();
  const name = byId("edit-name").value.trim();
  try {
    await api("/api/v1/admin/nodes", { method: "PATCH", json: { label, key, set: { [name]: parseValue(byId("edit-value").value) } } });
    setStatus("edit-status", `Saved ${name}.`);
    await showDetails(label, key);
    await loadAudit();
  } catch (error) {
    setStatus("edit-status", error.message, true);
  }
});

byId("merge-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { label, key } = current();
  const duplicate = byId("merge-key").value.trim();
  if (!window.confirm(`Merge ${label} ${duplicate} into ${key}? The duplicate is deleted.`)) return;
  try {
    await api("/api/v1/admin/nodes/merge", { method: "POST", json: { label, keep: key, duplicate } });
    cy.getElementById(`${label}:${duplicate}`).remove();
    setStatus("edit-status", `Merged ${duplicate} into this node.`);
    await select(label, key, true);
    await loadAudit();
  } catch (error) {
    setStatus("edit-status", error.message, true);
  }
});

byId("delete-button").addEventListener("click", async () => {
  const { label, key } = current();
  if (!window.confirm(`Delete ${label} ${key} and all its relations?`)) return;
  try {
    await api("/api/v1/admin/nodes", { method: "DELETE", query: { label, key } });
    cy.getElementById(selected).remove();
    byId("details-body").hidden = true;
    byId("details-empty").hidden = false;
    setStatus("edit-status", `Deleted ${label} ${key}.`);
    await loadAudit();
  } catch (error) {
    setStatus("edit-status", error.message, true);
  }
});

cy.on("tap", "node", (event) => select(event.target.data("label"), event.target.data("key"), true));
byId("layout-select").addEventListener("change", runLayout);
byId("extractor-select").addEventListener("change", () => {  // show the chosen facts only
  cy.elements().remove();
  if (selected) {
    const { label, key } = current();
    select(label, key, true);
  }
});
byId("fit-button").addEventListener("click", () => cy.fit(undefined, 24));
byId("clear-button").addEventListener("click", () => cy.elements().remove());

const filter = byId("type-filter");
const labelSelect = byId("lookup-label");
for (const label of Object.keys(COLORS)) {
  const box = el("input", { attrs: { type: "checkbox", checked: true, value: label } });
  box.addEventListener("change", () => {
    if (box.checked) hidden.delete(label); else hidden.add(label);
    applyFilter();
  });
  filter.append(el("label", { className: `type-toggle type-${label}` }, [box, ` ${label}`]));
  labelSelect.append(el("option", { text: label, attrs: { value: label } }));
}
loadExtractors();
loadAudit();

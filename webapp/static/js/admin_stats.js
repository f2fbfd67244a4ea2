// KG statistics: counts by type and the degree distribution, as charts and as a table.
import { api, byId, el } from "./dom.js";

function barChart(id, labels, values, color) {
  const spread = Math.max(...values, 1) / Math.max(Math.min(...values.filter((v) => v > 0)), 1);
  const logScale = spread > 1000;
  return new window.Chart(byId(id), {
    type: "bar",
    data: { labels, datasets: [{ data: values, backgroundColor: color }] },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { y: { type: logScale ? "logarithmic" : "linear", beginAtZero: !logScale, ticks: { precision: 0 } } },
    },
  });
}

async function load() {
  try {
    const stats = await api("/api/v1/graph/stats");
    byId("stats-summary").textContent =
      `${stats.total_nodes} nodes and ${stats.total_relations} relations in the ${stats.backend} store (schema v${stats.schema_version})`;
    barChart("nodes-chart", Object.keys(stats.nodes), Object.values(stats.nodes), "#2563eb");
    barChart("relations-chart", Object.keys(stats.relations), Object.values(stats.relations), "#16a34a");
    const table = byId("stats-table");
    for (const [name, count] of [...Object.entries(stats.nodes), ...Object.entries(stats.relations)]) {
      table.append(el("tr", {}, [el("th", { text: name, attrs: { scope: "row" } }), el("td", { text: String(count) })]));
    }
    const degrees = await api("/api/v1/admin/stats/degrees");
    byId("degree-note").textContent = degrees.exact
      ? `(all ${degrees.nodes_counted} nodes)`
      : `(sample of ${degrees.nodes_counted} nodes)`;
    barChart("degree-chart", degrees.histogram.map((b) => String(b.degree)), degrees.histogram.map((b) => b.count), "#f59e0b");
  } catch (error) {
    byId("stats-summary").textContent = `Cannot load statistics: ${error.message}`;
  }
}

load();

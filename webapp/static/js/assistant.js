// The shopper's assistant page: chat, search (text and photo), the exhibition panel of the
// current item, and questions answered with their evidence highlighted.
import { api, byId, clear, el, formatPrice } from "./dom.js";

const state = { sessionId: null, query: null, nextOffset: null, item: null };
const PAGE = 12;

function status(text) {
  byId("results-status").textContent = text;
}

function hitCard(hit) {
  const image = hit.image_url
    ? el("img", { attrs: { src: hit.image_url, alt: "", loading: "lazy" } })
    : el("div", { className: "no-image", text: "No image", attrs: { "aria-hidden": "true" } });
  const values = el("ul", { className: "key-values" },
    Object.entries(hit.key_values || {}).slice(0, 4).map(([k, v]) => el("li", {}, [
      el("span", { className: "muted", text: `${k}: ` }), el("span", { text: v }),
    ])));
  const reasons = (hit.reasons || []).slice(0, 2).map((r) => el("p", { className: "reason small", text: r }));
  const button = el("button", {
    className: "card-button",
    attrs: { type: "button", "data-key": hit.key, "aria-label": `Show ${hit.title}` },
  }, [image, el("span", { className: "card-title", text: hit.title }),
    el("span", { className: "price", text: formatPrice(hit.price, hit.currency) })]);
  button.addEventListener("click", () => openItem(hit.key));
  return el("li", { className: "result-card" }, [button, values, ...reasons]);
}

// ``exact``: how many hits, from the first, meet everything the query states; the rest
// (closest misses) go below a line that says so
function showHits(hits, append, offset = 0, exact = null) {
  const list = byId("results");
  if (!append) clear(list);
  hits.forEach((hit, i) => {
    if (exact !== null && exact > 0 && offset + i === exact) {
      list.append(el("li", {
        className: "results-divider muted small",
        text: "Not everything you asked for; the closest:",
        attrs: { role: "separator" },
      }));
    }
    list.append(hitCard(hit));
  });
}

// what the results are: all of the query's constraints met, or the closest when none is
function searchStatus(page, query) {
  if (!page.total) return `Nothing found for “${query}”`;
  if (page.weak) return `Nothing in the shop matches “${query}” well; the nearest guesses:`;
  if (page.match === "relaxed" && page.relaxed.length) {
    return `No exact match for “${query}”; closest (not ${page.relaxed.join(", not ")}):`;
  }
  // how many meet everything the query states: a refinement never reads as more
  const count = page.exact_total;
  return `${count} result${count === 1 ? "" : "s"} for “${query}”`;
}

async function search(query, offset = 0) {
  status(offset ? "Loading more…" : "Searching…");
  try {
    const page = await api("/api/v1/search", { query: { q: query, limit: PAGE, offset } });
    state.query = query;
    state.nextOffset = page.next_offset;
    const exact = page.weak || page.match !== "exact" ? null : page.exact_total;
    showHits(page.hits, offset > 0, offset, exact);
    status(searchStatus(page, query));
    byId("more-results").hidden = page.next_offset === null;
  } catch (error) {
    status(`Search failed: ${error.message}`);
  }
}

async function searchPhoto(file) {
  status("Searching by photo…");
  const form = new FormData();
  form.append("image", file);
  try {
    const page = await api("/api/v1/search/image", { method: "POST", form });
    state.nextOffset = null;
    showHits(page.hits, false);
    byId("more-results").hidden = true;
    status(`${page.hits.length} items look like your photo`);
  } catch (error) {
    status(`Photo search failed: ${error.message}`);
  }
}

function fillList(id, items, make) {
  const node = clear(byId(id));
  items.forEach((item, i) => node.append(make(item, i)));
  return node;
}

// the card's attribute values by attribute, each with where it came from; a card from an
// older server has only the text's values (attributes)
function attributeRows(card) {
  const rows = new Map();
  const values = card.values && card.values.length ? card.values
    : Object.entries(card.attributes || {}).flatMap(([attribute, list]) =>
      list.map((value) => ({ attribute, value, origin: "text" })));
  for (const value of values) {
    if (!rows.has(value.attribute)) rows.set(value.attribute, []);
    rows.get(value.attribute).push(value);
  }
  return [...rows.entries()];
}

function shownValue(value, i) {
  const parts = [i ? ", " : "", el("span", { className: "value", text: value.value })];
  if (value.origin === "photo") {
    parts.push(el("span", {
      className: "provenance muted small",
      text: ` — from the photo (${Number(value.confidence).toFixed(2)})`,
      attrs: { title: `read from the item's photo by ${value.extractor}` },
    }));
  }
  return el("span", { className: `attribute-value from-${value.origin}` }, parts);
}

function renderCard(card) {
  state.item = card;
  const panel = byId("exhibition");
  panel.hidden = false;
  byId("item-title").textContent = card.title;
  byId("item-price").textContent = formatPrice(card.price, card.currency);
  byId("item-brand").textContent = card.brand ? `by ${card.brand}` : "";
  byId("item-category").textContent = (card.category || []).join(" › ");
  byId("item-description").textContent = card.description;
  fillList("item-gallery", card.image_urls || [], (src, i) =>
    el("img", { attrs: { src, alt: `${card.title}, picture ${i + 1}` } }));
  fillList("item-attributes", attributeRows(card), ([name, values]) =>
    el("tr", { attrs: { "data-evidence": `${name} ${values.map((v) => v.value).join(", ")}` } }, [
      el("th", { text: name, attrs: { scope: "row" } }), el("td", {}, values.map(shownValue)),
    ]));
  fillList("item-pois", card.pois || [], (poi) => el("li", { className: "chip", text: poi, attrs: { "data-evidence": poi } }));
  const needs = clear(byId("item-needs"));
  for (const [title, values] of [["Helps with", card.problems], ["Good for", card.scenes], ["For", card.crowds]]) {
    if (values && values.length) {
      needs.append(el("dt", { text: title }), el("dd", { text: values.join(", "), attrs: { "data-evidence": values.join(" ") } }));
    }
  }
  const qa = clear(byId("item-qa"));
  (card.qa || []).forEach((pair) => {
    qa.append(el("dt", { text: pair.question, attrs: { "data-evidence": pair.question } }),
      el("dd", { text: pair.answer, attrs: { "data-evidence": pair.answer } }));
  });
  fillList("item-reviews", card.review_highlights || [], (text) => el("li", { text, attrs: { "data-evidence": text } }));
  fillList("item-similar", card.similar || [], (hit) => {
    const button = el("button", { className: "link", text: hit.title, attrs: { type: "button" } });
    button.addEventListener("click", () => openItem(hit.key));
    return el("li", {}, [button, el("span", { className: "muted small", text: ` ${formatPrice(hit.price, hit.currency)}` })]);
  });
  const answer = byId("answer");
  answer.hidden = true;
  clear(answer);
}

async function openItem(key) {
  try {
    const card = await api(`/api/v1/items/${encodeURIComponent(key)}`);
    renderCard(card);
    byId("item-title").focus();
  } catch (error) {
    status(`Cannot show the item: ${error.message}`);
  }
}

const norm = (text) => (text || "").toLowerCase().replace(/\s+/g, " ").trim();

// mark the parts of the exhibition panel an answer rests on
function highlightEvidence(evidence) {
  const panel = byId("exhibition");
  panel.querySelectorAll(".evidence").forEach((node) => node.classList.remove("evidence"));
  const description = byId("item-description");
  description.textContent = state.item ? state.item.description : "";
  for (const piece of evidence) {
    const wanted = norm(piece.text);
    if (!wanted) continue;
    panel.querySelectorAll("[data-evidence]").forEach((node) => {
      const have = norm(node.getAttribute("data-evidence"));
      if (have && (have.includes(wanted) || wanted.includes(have))) node.classList.add("evidence");
    });
    const text = description.textContent;
    const at = text.toLowerCase().indexOf(piece.text.toLowerCase());
    if (at >= 0 && !description.querySelector("mark")) {
      clear(description);
      description.append(text.slice(0, at), el("mark", { text: text.slice(at, at + piece.text.length) }), text.slice(at + piece.text.length));
    }
  }
}

function renderAnswer(answer) {
  const box = clear(byId("answer"));
  box.hidden = false;
  box.classList.toggle("abstained", answer.abstained);
  box.append(el("p", { className: "answer-text", text: answer.text }));
  if (answer.evidence && answer.evidence.length) {
    box.append(el("p", { className: "muted small", text: "Based on:" }),
      el("ul", { className: "evidence-list" }, answer.evidence.map((piece) =>
        el("li", {}, [el("span", { className: "badge", text: piece.source }), " ", el("q", { text: piece.text })]))));
  }
  highlightEvidence(answer.evidence || []);
}

async function askItem(question) {
  if (!state.item) return;
  const box = clear(byId("answer"));
  box.hidden = false;
  box.append(el("p", { className: "muted", text: "Thinking…" }));
  try {
    renderAnswer(await api(`/api/v1/items/${encodeURIComponent(state.item.key)}/ask`, { method: "POST", json: { question } }));
  } catch (error) {
    clear(box).append(el("p", { className: "error", text: `No answer: ${error.message}` }));
  }
}

function chatLine(who, text) {
  const log = byId("chat-log");
  log.append(el("li", { className: `msg ${who}`, text }));
  log.scrollTop = log.scrollHeight;
}

// a comparison as a table: one column per item, a row per price and attribute
function chatTable(cards) {
  const names = [...new Set(cards.flatMap((card) => Object.keys(card.attributes || {})))].slice(0, 8);
  const cell = (tag, text) => el(tag, { text });
  const head = el("tr", {}, [cell("th", ""), ...cards.map((card) => cell("th", card.title))]);
  const price = el("tr", {}, [cell("th", "price"),
    ...cards.map((card) => cell("td", formatPrice(card.price, card.currency)))]);
  const rows = names.map((name) => el("tr", {}, [cell("th", name),
    ...cards.map((card) => cell("td", ((card.attributes || {})[name] || []).join(", ") || "—"))]));
  const table = el("table", { className: "compare" }, [el("tbody", {}, [head, price, ...rows])]);
  const log = byId("chat-log");
  log.append(el("li", { className: "msg bot" }, [table]));
  log.scrollTop = log.scrollHeight;
}

async function sendTurn(text) {
  chatLine("user", text);
  try {
    const turn = await api("/api/v1/assistant/turns", { method: "POST", json: { text, session_id: state.sessionId } });
    state.sessionId = turn.session_id;
    if (turn.compared && turn.compared.length > 1) {
      chatTable(turn.compared);
    } else {
      chatLine("bot", turn.message);
    }
    if (turn.hits && turn.hits.length) {
      showHits(turn.hits, false);
      byId("more-results").hidden = true;
      status(`${turn.hits.length} suggestions from the assistant`);
    }
    if (turn.card) renderCard(turn.card);
    if (turn.answer) renderAnswer(turn.answer);
  } catch (error) {
    chatLine("bot error", `Sorry, that failed: ${error.message}`);
  }
}

function onSubmit(id, handler) {
  byId(id).addEventListener("submit", (event) => {
    event.preventDefault();
    const input = event.target.querySelector("input");
    const value = input.value.trim();
    if (value) handler(value, input);
  });
}

onSubmit("search-form", (value) => search(value));
onSubmit("ask-form", (value) => askItem(value));
onSubmit("chat-form", (value, input) => { input.value = ""; sendTurn(value); });
byId("more-results").addEventListener("click", () => {
  if (state.query && state.nextOffset !== null) search(state.query, state.nextOffset);
});
byId("photo-input")?.addEventListener("change", (event) => {  // absent without photo search
  const [file] = event.target.files;
  if (file) searchPhoto(file);
  event.target.value = "";
});

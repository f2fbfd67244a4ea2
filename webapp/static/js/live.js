// The viewer's page of a live room (phone-first): the item on stream follows the host's
// switches through server-sent events, questions about it are answered with evidence (the
// host's pinned answers first), the room's items can be skimmed and searched.
import { api, byId, clear, el, evidenceList, formatPrice } from "./dom.js";

const ROOM = byId("live").dataset.room;
const state = { room: null, live: null, shown: null, viewer: viewerToken(), source: null };

function viewerToken() {
  const key = "shopkg-viewer";
  try {
    let token = window.localStorage.getItem(key);
    if (!token) {
      token = `v-${Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("")}`;
      window.localStorage.setItem(key, token);
    }
    return token;
  } catch {
    return null; // storage refused: the server counts this viewer by address
  }
}

function banner(text) {
  const node = byId("room-banner");
  node.textContent = text;
  node.hidden = !text;
}

function renderCard(card) {
  state.shown = card.key;
  byId("card-title").textContent = card.title;
  byId("card-title").dataset.key = card.key;
  byId("card-price").textContent = formatPrice(card.price, card.currency);
  byId("card-brand").textContent = card.brand ? `by ${card.brand}` : "";
  byId("card-description").textContent = card.description;
  const gallery = clear(byId("card-gallery"));
  (card.image_urls || []).slice(0, 4).forEach((src, i) => gallery.append(el("img", { attrs: { src, alt: `${card.title}, picture ${i + 1}` } })));
  const rows = clear(byId("card-attributes"));
  for (const [name, values] of Object.entries(card.attributes || {})) {
    rows.append(el("tr", {}, [el("th", { text: name, attrs: { scope: "row" } }), el("td", { text: values.join(", ") })]));
  }
  const pois = clear(byId("card-pois"));
  (card.pois || []).forEach((poi) => pois.append(el("li", { className: "chip", text: poi })));
  const onStream = card.key === state.live;
  byId("card-note").textContent = onStream ? "On stream now" : "From this stream's list";
  byId("back-to-stream").hidden = onStream || !state.live;
  const answer = byId("answer");
  answer.hidden = true;
  clear(answer);
  renderPins();
}

async function showItem(key) {
  try {
    renderCard(await api(`/api/v1/items/${encodeURIComponent(key)}`));
  } catch (error) {
    banner(`Cannot show the item: ${error.message}`);
  }
}

function renderPins() {
  const list = clear(byId("pins"));
  const pins = (state.room && state.room.pins) || [];
  for (const pin of pins.filter((p) => p.item_key === state.shown)) {
    list.append(el("li", { className: "pin" }, [
      el("p", { className: "small muted", text: `Host's answer · ${pin.question}` }),
      el("p", { className: "answer-text", text: pin.text }),
      evidenceList(pin.evidence),
    ]));
  }
}

function renderItems(items) {
  const list = clear(byId("room-items"));
  for (const item of items) {
    const button = el("button", { className: "link", text: item.title, attrs: { type: "button", "data-key": item.key } });
    button.addEventListener("click", () => showItem(item.key));
    const live = item.key === state.live;
    list.append(el("li", { className: live ? "on-stream-item" : "" }, [
      button, " ", el("span", { className: "price small", text: formatPrice(item.price, item.currency) }),
      live ? el("span", { className: "badge live-badge", text: "live" }) : null,
    ]));
  }
}

// a room event (from the push server, or the first load): follow the item on stream
function applyRoom(room) {
  const switched = room.current_item !== state.live;
  state.room = { ...(state.room || {}), ...room };
  state.live = room.current_item;
  if (room.state === "ended") {
    banner("This stream has ended. Thanks for watching!");
    byId("ask-input").disabled = true;
  } else if (room.state === "scheduled") {
    banner("The stream has not started yet.");
  } else {
    banner("");
  }
  if (state.room.items && state.room.items.length && typeof state.room.items[0] === "object") renderItems(state.room.items);
  if (switched && room.current_item) showItem(room.current_item);
  else renderPins();
}

// without the push server (blocked, restarting), ask the API now and then until it is back
const FALLBACK_MS = 5000;
let fallback = null;

function pollWhileAway() {
  if (fallback) return;
  fallback = setInterval(async () => {
    try {
      const room = await api(`/api/v1/rooms/${ROOM}`);
      applyRoom(room);
      if (room.state === "ended") clearInterval(fallback);
    } catch {
      // the next attempt tells
    }
  }, FALLBACK_MS);
}

function listen(url) {
  if (!window.EventSource) {
    pollWhileAway();
    return;
  }
  const source = new EventSource(url);
  state.source = source;
  source.addEventListener("error", pollWhileAway);
  source.addEventListener("open", () => { clearInterval(fallback); fallback = null; });
  source.addEventListener("room", async (event) => {
    const data = JSON.parse(event.data);
    const known = (state.room && state.room.items) || [];
    if (known.map((item) => item.key).join("\n") !== data.items.join("\n")) {
      applyRoom(await api(`/api/v1/rooms/${ROOM}`));  // the host changed the list: titles too
    } else {
      applyRoom({ ...data, items: known });
    }
    if (data.state === "ended") source.close();
  });
}

async function ask(question) {
  const box = clear(byId("answer"));
  box.hidden = false;
  box.append(el("p", { className: "muted", text: "Thinking…" }));
  try {
    const answer = await api(`/api/v1/rooms/${ROOM}/ask`, {
      method: "POST", json: { question, viewer: state.viewer, item: state.shown },
    });
    clear(box);
    box.classList.toggle("abstained", answer.abstained);
    if (answer.answered_by === "pinned") box.append(el("p", { className: "small muted", text: "Answer from the host" }));
    box.append(el("p", { className: "answer-text", text: answer.text }));
    const evidence = evidenceList(answer.evidence);
    if (evidence) box.append(el("p", { className: "muted small", text: "Based on:" }), evidence);
  } catch (error) {
    clear(box).append(el("p", { className: "error", text: `No answer: ${error.message}` }));
  }
}

async function search(query) {
  const scope = byId("search-scope").value;
  byId("search-status").textContent = "Searching…";
  try {
    const page = await api(`/api/v1/rooms/${ROOM}/search`, { query: { q: query, scope } });
    const list = clear(byId("search-results"));
    for (const hit of page.hits) {
      const button = el("button", { className: "link", text: hit.title, attrs: { type: "button" } });
      button.addEventListener("click", () => showItem(hit.key));
      list.append(el("li", {}, [button, " ", el("span", { className: "price small", text: formatPrice(hit.price, hit.currency) })]));
    }
    byId("search-status").textContent = page.hits.length ? "" : `Nothing found for “${query}”`;
  } catch (error) {
    byId("search-status").textContent = `Search failed: ${error.message}`;
  }
}

byId("ask-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = byId("ask-input").value.trim();
  if (value) ask(value);
});
byId("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = byId("search-input").value.trim();
  if (value) search(value);
});
byId("back-to-stream").addEventListener("click", () => { if (state.live) showItem(state.live); });

async function start() {
  try {
    const room = await api(`/api/v1/rooms/${ROOM}`);
    applyRoom(room);
    if (!room.current_item && room.items.length) showItem(room.items[0].key);
    listen(room.events_url);
  } catch (error) {
    banner(`Cannot load the room: ${error.message}`);
  }
}
start();

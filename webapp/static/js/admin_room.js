// The host console of a live room: put an item on stream in one click, live counts, the
// audience's questions grouped by meaning with the answer given, pin or write a better one.
import { api, byId, clear, el, evidenceList, formatPrice } from "./dom.js";

const ROOM = byId("console").dataset.room;
const ADMIN = `/api/v1/admin/rooms/${ROOM}`;
const REFRESH_MS = 1500;
const state = { room: null, items: [], itemsVersion: null, editing: false };

function status(text) {
  byId("console-status").textContent = text;
}

async function act(path, json) {
  try {
    await api(`${ADMIN}${path}`, { method: "POST", json: json || {} });
    await refresh();
  } catch (error) {
    status(error.message);
  }
}

function renderItems() {
  const room = state.room;
  const list = clear(byId("room-items"));
  for (const item of state.items) {
    const onStream = room.state === "live" && room.current_item === item.key;
    const button = el("button", {
      className: onStream ? "secondary" : "",
      text: onStream ? "On stream" : "Put on stream",
      attrs: { type: "button", "data-key": item.key, disabled: onStream || room.state !== "live" },
    });
    button.addEventListener("click", () => act("/switch", { item: item.key }));
    list.append(el("li", { className: onStream ? "on-stream-item" : "" }, [
      el("span", { className: "card-title", text: item.title }), " ",
      el("span", { className: "price", text: formatPrice(item.price, item.currency) }), " ",
      el("code", { className: "muted small", text: item.key }), " ", button,
    ]));
  }
}

function groupRow(group) {
  const answer = group.pin ? group.pin.text : (group.answer || "(no answer)");
  const who = group.pin ? (group.pin.written ? "your answer" : "pinned") : (group.abstained ? "assistant abstained" : "assistant");
  const pin = el("button", { text: "Pin this answer", className: "secondary", attrs: { type: "button", disabled: !group.answer || Boolean(group.pin) } });
  pin.addEventListener("click", () => act("/pins", { group_id: group.id }));
  const text = el("textarea", { attrs: { rows: 2, maxlength: 2000, "aria-label": `Better answer to ${group.label}` } });
  const save = el("button", { text: "Save answer", attrs: { type: "submit" } });
  const form = el("form", { className: "stack better" }, [text, save]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const written = text.value.trim();
    if (written) act("/pins", { group_id: group.id, text: written }).then(() => { state.editing = false; });
  });
  const details = el("details", {}, [el("summary", { text: "Write a better answer" }), form]);
  details.addEventListener("toggle", () => { state.editing = details.open; });
  return el("li", { className: "group", attrs: { "data-group": group.id } }, [
    el("p", { className: "group-head" }, [
      el("strong", { className: "group-count", text: String(group.questions) }), " ",
      el("span", { className: "group-label", text: group.label }),
      group.topic ? el("span", { className: "badge", text: group.topic.split(":").pop() }) : null,
    ]),
    group.last_question !== group.label ? el("p", { className: "muted small", text: `latest: ${group.last_question}` }) : null,
    el("p", { className: `group-answer${group.abstained && !group.pin ? " muted" : ""}` }, [
      el("span", { className: "badge", text: who }), " ", el("span", { text: answer }),
    ]),
    evidenceList(group.pin ? group.pin.evidence : group.evidence),
    el("div", { className: "actions" }, [pin, details]),
  ]);
}

async function refresh() {
  try {
    const view = await api(ADMIN);
    const room = view.room;
    state.room = room;
    if (state.itemsVersion !== room.items.join("\n")) {
      state.items = (await api(`/api/v1/rooms/${ROOM}`)).items;
      state.itemsVersion = room.items.join("\n");
    }
    byId("room-state").textContent = room.state;
    byId("go-live").hidden = room.state !== "scheduled";
    byId("end-room").hidden = room.state === "ended";
    byId("viewer-count").textContent = String(view.viewers);
    byId("qpm").textContent = String(view.questions_per_minute);
    byId("question-count").textContent = String(view.questions);
    renderItems();
    if (!state.editing) {
      const groups = clear(byId("groups"));
      view.groups.forEach((group) => groups.append(groupRow(group)));
      if (!view.groups.length) groups.append(el("li", { className: "muted", text: "No questions about this item yet." }));
    }
  } catch (error) {
    status(`Cannot load the room: ${error.message}`);
  }
}

byId("go-live").addEventListener("click", () => act("/live"));
byId("end-room").addEventListener("click", () => {
  if (window.confirm("End the room? Viewers can no longer ask.")) act("/end");
});
refresh();
setInterval(refresh, REFRESH_MS);

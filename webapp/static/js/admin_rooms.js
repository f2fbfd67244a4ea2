// The live rooms list: each room with its state, and a form to create one.
import { api, byId, clear, el } from "./dom.js";

async function loadRooms() {
  try {
    const page = await api("/api/v1/admin/rooms");
    const list = clear(byId("rooms-list"));
    for (const room of page.rooms) {
      list.append(el("li", {}, [
        el("a", { text: room.title, attrs: { href: `/admin/rooms/${room.id}` } }), " ",
        el("span", { className: `badge state-${room.state}`, text: room.state }), " ",
        el("span", { className: "muted small", text: `${room.items.length} items, host ${room.host}` }),
      ]));
    }
    byId("rooms-status").textContent = page.rooms.length ? "" : "No rooms yet.";
  } catch (error) {
    byId("rooms-status").textContent = `Cannot load rooms: ${error.message}`;
  }
}

byId("new-room").addEventListener("submit", async (event) => {
  event.preventDefault();
  const title = byId("room-title").value.trim();
  const items = byId("room-items").value.split("\n").map((line) => line.trim()).filter(Boolean);
  try {
    const room = await api("/api/v1/admin/rooms", { method: "POST", json: { title, items } });
    window.location.assign(`/admin/rooms/${room.id}`);
  } catch (error) {
    byId("rooms-status").textContent = `Cannot create the room: ${error.message}`;
  }
});
byId("refresh-rooms").addEventListener("click", loadRooms);
loadRooms();

"""The viewer's page of a live room: the item on stream following the host, questions about
it, the room's items and search (phone-first; the data comes from the API and the push
server)."""

from __future__ import annotations

from flask import Blueprint, render_template

from foundation.db import rooms
from webapp.services import services

bp = Blueprint("live", __name__, url_prefix="/live")


@bp.get("/<int:room_id>")
def room(room_id: int) -> str:
    with services().database.session() as db:
        found = rooms.get_room(db, room_id)  # 404 page for a room that is not there
    return render_template("live.html", room=found)

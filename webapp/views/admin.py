"""The admin browser: login, the graph browser, the jobs dashboard, KG statistics and the
live rooms' host consoles."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from assistant.api import PHOTO_EXTRACTORS
from foundation.db import accounts, rooms
from webapp.auth import current_admin, log_in, log_out, login_required, safe_next
from webapp.services import services

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    target = safe_next(request.values.get("next"))
    if request.method == "POST":
        username = request.form.get("username", "")[:80]
        password = request.form.get("password", "")[:1000]
        with services().database.session() as db:
            user = accounts.authenticate(db, username, password) if username else None
            if user is not None:
                log_in(db, user)
        if user is not None:
            return redirect(target)
        flash("Wrong username or password.", "error")
        return render_template("admin/login.html", next=target, username=username), 401
    if current_admin() is not None:
        return redirect(target)
    return render_template("admin/login.html", next=target, username="")


@bp.post("/logout")
def logout() -> Response:
    log_out()
    return redirect(url_for("admin.login"))


@bp.get("/")
@login_required
def graph() -> str:
    return render_template("admin/graph.html", page="graph", photo_extractors=PHOTO_EXTRACTORS)


@bp.get("/jobs")
@login_required
def jobs_dashboard() -> str:
    return render_template("admin/jobs.html", page="jobs")


@bp.get("/stats")
@login_required
def stats() -> str:
    return render_template("admin/stats.html", page="stats")


@bp.get("/rooms")
@login_required
def rooms_index() -> str:
    return render_template("admin/rooms.html", page="rooms")


@bp.get("/rooms/<int:room_id>")
@login_required
def room_console(room_id: int) -> str:
    """The host console: the item list, live counts, the questions grouped, pins."""
    with services().database.session() as db:
        room = rooms.get_room(db, room_id)  # 404 page for a room that is not there
    return render_template("admin/room.html", page="rooms", room=room)

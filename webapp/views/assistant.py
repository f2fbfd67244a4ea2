"""The assistant page a shopper uses beside a live stream, and the item images it shows."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, send_file

from jobs.demo_catalog import GENERATED_NOTICE
from shopkg.errors import NotFoundError
from webapp.services import services

bp = Blueprint("assistant", __name__)


@bp.get("/")
def index() -> str:
    return render_template(
        "assistant.html", demo_notice=GENERATED_NOTICE if services().is_demo else None
    )


@bp.get("/images/<path:image_key>")
def image(image_key: str) -> Response:
    path = services().assistant.image_path(image_key)
    if path is None or not path.is_file():
        raise NotFoundError(f"no image {image_key!r}")
    response = send_file(path, conditional=True, max_age=3600)
    if not (response.mimetype or "").startswith("image/"):
        response.mimetype = "application/octet-stream"
    return response


@bp.get("/healthz")
def health() -> Response:
    return jsonify({"status": "ok"})

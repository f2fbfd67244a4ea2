"""The assistant page a shopper uses beside a live stream, and the item images it shows."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, send_file

from catalog.demo import GENERATED_NOTICE
from foundation.errors import NotFoundError
from webapp.services import services

bp = Blueprint("assistant", __name__)


@bp.get("/")
def index() -> str:
    return render_template(
        "assistant.html",
        demo_notice=GENERATED_NOTICE if services().is_demo else None,
        photo_search=services().photo_search,
    )


@bp.get("/images/<path:image_key>")
def image(image_key: str) -> Response:
    """An image an item of the build lists, served only when it is a raster image (by its
    header: never SVG, HTML or whatever else sits under the image root)."""
    from encoders.images import web_image_type

    path = services().assistant.image_path(image_key)
    media_type = web_image_type(path) if path is not None else None
    if path is None or media_type is None:
        raise NotFoundError(f"no image {image_key!r}")
    return send_file(path, mimetype=media_type, conditional=True, max_age=3600)


@bp.get("/healthz")
def health() -> Response:
    """200 ``{"status": "ready"}`` once the assistant answers; 503 ``starting`` before."""
    if services().ready:
        return jsonify({"status": "ready"})
    response = jsonify({"status": "starting"})
    response.status_code = 503
    response.headers["Retry-After"] = "1"
    return response

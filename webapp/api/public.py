"""Public assistant endpoints: search (text and photo), item cards, questions, turns."""

from __future__ import annotations

import uuid

from flask import Response, current_app, jsonify, request

from foundation.errors import NotFoundError
from webapp.api import api, registry
from webapp.api.convert import answer_out, card_out, search_page, turn_out
from webapp.api.openapi import openapi_document
from webapp.api.schemas import (
    AnswerOut,
    AskBody,
    ItemCardOut,
    SearchPage,
    SearchQuery,
    TurnBody,
    TurnOut,
)
from webapp.errors import ValidationFailed
from webapp.services import services

IMAGE_LIMIT = 10
UPLOAD_FIELD = "image"


@registry.route(
    api, "/search", "GET", summary="Search the catalog", tag="assistant", response=SearchPage,
    query=SearchQuery, errors=(503,),
)  # fmt: skip
def search(query: SearchQuery) -> SearchPage:
    result = services().assistant.search(query.q, limit=query.limit, offset=query.offset)
    return search_page(result, query.limit, query.offset)


@registry.route(
    api, "/search/image", "POST", summary="Search by a photo (multipart field 'image')",
    tag="assistant", response=SearchPage, upload=UPLOAD_FIELD, errors=(400, 404, 413, 503),
)  # fmt: skip
def search_image() -> SearchPage:
    upload = request.files.get(UPLOAD_FIELD)
    if upload is None:
        raise ValidationFailed(
            "send the photo as the multipart/form-data field 'image'",
            details=[{"loc": ["body", UPLOAD_FIELD], "msg": "field required", "type": "missing"}],
        )
    data = upload.read()
    if not data:
        raise ValidationFailed("the uploaded photo is empty")
    result = services().assistant.search_image(data, limit=IMAGE_LIMIT)
    return search_page(result, IMAGE_LIMIT, 0)


@registry.route(
    api, "/items/<path:key>", "GET", summary="An item's exhibition card", tag="assistant",
    response=ItemCardOut, errors=(404, 503),
)  # fmt: skip
def item(key: str) -> ItemCardOut:
    card = services().assistant.item(key)
    if card is None:
        raise NotFoundError(f"no item {key!r} in the catalog")
    return card_out(card)


@registry.route(
    api, "/items/<path:key>/ask", "POST", summary="Ask a question about an item", tag="assistant",
    response=AnswerOut, body=AskBody, errors=(400, 404, 503),
)  # fmt: skip
def ask(key: str, body: AskBody) -> AnswerOut:
    return answer_out(services().assistant.ask(key, body.question))


@registry.route(
    api, "/assistant/turns", "POST", summary="One chat message to the assistant",
    tag="assistant", response=TurnOut, body=TurnBody, errors=(503,),
)  # fmt: skip
def turn(body: TurnBody) -> TurnOut:
    session_id = body.session_id or uuid.uuid4().hex
    return turn_out(services().assistant.turn(session_id, body.text))


@api.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI document, generated from the request and response models."""
    document = current_app.extensions.get("shopkg_openapi")
    if document is None:
        from foundation import __version__

        document = openapi_document(registry, title="ShopKG API", version=__version__)
        current_app.extensions["shopkg_openapi"] = document
    return jsonify(document)

"""From the assistant's dataclasses and the graph store's records to the API's models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import url_for

from assistant.api import Answer, Hit, ItemCard, SearchResult, Turn, to_dict
from kg import NodeRecord, RelationRecord
from webapp.api.schemas import (
    AnswerOut,
    HitOut,
    ItemCardOut,
    NodeOut,
    ProvenanceOut,
    SearchPage,
    TurnOut,
    UnderstandingOut,
)

LONG_LIST = 16  # vectors (concept prototypes) are summarized, not sent whole
INTERNAL = frozenset({"search_text"})  # the store's own full-text field


def image_url(image_key: str | None) -> str | None:
    return url_for("assistant.image", image_key=image_key) if image_key else None


def hit_out(hit: Hit) -> HitOut:
    return HitOut.model_validate({**to_dict(hit), "image_url": image_url(hit.image)})


def search_page(result: SearchResult, limit: int, offset: int) -> SearchPage:
    end = offset + len(result.hits)
    return SearchPage(
        query=result.query,
        total=result.total,
        limit=limit,
        offset=offset,
        next_offset=end if end < result.total and result.hits else None,
        hits=[hit_out(h) for h in result.hits],
        understanding=UnderstandingOut.model_validate(to_dict(result.understanding)),
        match=result.match,
        relaxed=list(result.relaxed),
        weak=result.weak,
        exact_total=result.exact_total,
    )


def card_out(card: ItemCard) -> ItemCardOut:
    data = to_dict(card)
    data["similar"] = [hit_out(h) for h in card.similar]
    data["image_urls"] = [image_url(k) for k in card.images]
    return ItemCardOut.model_validate(data)


def answer_out(answer: Answer) -> AnswerOut:
    return AnswerOut.model_validate(to_dict(answer))


def turn_out(turn: Turn) -> TurnOut:
    return TurnOut(
        session_id=turn.session_id,
        intent=turn.intent,
        message=turn.message,
        hits=[hit_out(h) for h in turn.hits],
        card=card_out(turn.card) if turn.card is not None else None,
        answer=answer_out(turn.answer) if turn.answer is not None else None,
        reasons=list(turn.reasons),
        compared=[card_out(c) for c in turn.compared if c is not None],
    )


def _shown(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) > LONG_LIST:
        return f"[{len(value)} values]"
    return value


def node_id(label: str, key: str) -> str:
    return f"{label}:{key}"


def node_out(record: NodeRecord) -> NodeOut:
    properties = {
        k: _shown(v)
        for k, v in record.properties.items()
        if v not in (None, [], "") and k not in INTERNAL
    }
    return NodeOut(
        id=node_id(record.label, record.key),
        label=record.label,
        key=record.key,
        name=record.name,
        properties=properties,
    )


def provenance_out(relation: RelationRecord) -> ProvenanceOut:
    prov = relation.provenance
    return ProvenanceOut(source=prov.source, extractor=prov.extractor, confidence=prov.confidence)


def plain(properties: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _shown(v) for k, v in properties.items()}

"""How right the values a build read from photos are, against the demo catalog's truth.

The demo generator draws every item's photo in a known colour (``image_colour``: the item's
colour, or a packaging colour when it has none) with a known pattern, and writes both to
``truth.jsonl``. This compares the build's ``shopkg.image_values`` facts with them: per
attribute the candidates (photographed items whose text states no value, in departments the
attribute applies to: :func:`jobs.image_values.applicable`), the facts written,
their precision and coverage, their calibration, and the same-run baseline of giving every
candidate the attribute's most often stated value. The truth file speaks the drawing's
vocabulary for patterns (``plain``, ``stripes``, ``dots``); :data:`DRAWN_PATTERNS` says
which catalog value each one is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from catalog.demo.items import PATTERNS
from catalog.demo.truth import read_truth
from encoders.image_values import expected_calibration_error
from extraction.values import canonical
from foundation.errors import ShopKGError
from jobs.image_values import EXTRACTOR, applicable, stated_values

# the drawn pattern → the catalog's value: the generator's own table inverted, and a plain
# drawing for "solid" (and for items with no pattern value)
DRAWN_PATTERNS = {drawn: value for value, drawn in PATTERNS.items()} | {"plain": "solid"}


def shown_values(truth_file: Path) -> dict[str, dict[str, str]]:
    """Per attribute (``color``, ``pattern``), what each item's photos show."""
    shown: dict[str, dict[str, str]] = {"color": {}, "pattern": {}}
    for truth in read_truth(truth_file):
        shown["color"][truth.id] = canonical(truth.image_colour, "color")
        shown["pattern"][truth.id] = DRAWN_PATTERNS.get(truth.pattern, truth.pattern)
    return shown


def evaluate_image_values(store: Any, truth_file: Path) -> dict[str, Any]:
    """Precision, coverage and calibration of the photo-read facts in ``store``."""
    shown = shown_values(truth_file)
    graph = store.export_networkx(
        labels=("Item", "Value", "Image", "Category"),
        relations=("HAS_VALUE", "HAS_IMAGE", "IN_CATEGORY"),
    )
    stated, photos, department = stated_values(graph, list(shown))
    facts: dict[str, dict[str, tuple[str, float]]] = {a: {} for a in shown}
    for (_, item), (_, value), relation, data in graph.edges(keys=True, data=True):
        if relation != "HAS_VALUE":
            continue
        for asserted in data.get("provenance", [data]):
            node = graph.nodes[("Value", value)]
            attribute = str(node.get("attribute"))
            if asserted.get("extractor") == EXTRACTOR and attribute in facts:
                facts[attribute][item] = (str(node.get("value")), float(asserted["confidence"]))
    known = set(shown["color"])
    built = {key for label, key in graph.nodes if label == "Item"}
    report: dict[str, Any] = {
        "truth_items": len(known),
        "built_items": len(built),
        "matched_items": len(known & built),
        "extractor": EXTRACTOR,
        "attributes": {},
    }
    for attribute, truth in shown.items():
        applies = applicable(stated[attribute], department)
        candidates = sorted(
            k for k in photos if k in truth and k not in stated[attribute] and applies(k)
        )
        written = {k: facts[attribute][k] for k in candidates if k in facts[attribute]}
        right = np.asarray([written[k][0] == truth[k] for k in written], dtype=bool)
        confidence = np.asarray([written[k][1] for k in written], dtype=np.float64)
        single = [next(iter(v)) for v in stated[attribute].values() if len(v) == 1]
        majority = Counter(single).most_common(1)[0][0] if single else ""
        report["attributes"][attribute] = {
            "candidates": len(candidates),
            "facts": len(written),
            "coverage": _share(len(written), len(candidates)),
            "precision": round(float(right.mean()), 4) if len(right) else None,
            "calibration_error": (
                round(expected_calibration_error(confidence, right), 4) if len(right) else None
            ),
            "mean_confidence": round(float(confidence.mean()), 4) if len(right) else None,
            "majority_value": majority,
            "majority_accuracy": _share(
                sum(truth[k] == majority for k in candidates), len(candidates)
            ),
            "truth_values": dict(Counter(truth[k] for k in candidates).most_common(5)),
        }
    return report


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def encode_photos(encoder: Any, rows: Sequence[Any], root: Path) -> tuple[Any, Any, list[str]]:
    """The image vectors of ``rows``' photos under ``root/images`` (zeros where unreadable),
    which rows have one, and why the others do not."""
    vectors = np.zeros((len(rows), encoder.dimension), dtype=np.float32)
    ok = np.zeros(len(rows), dtype=bool)
    reasons = []
    batch = 64
    paths = [root / "images" / r.image for r in rows]
    for start, encoded in zip(
        range(0, len(rows), batch),
        encoder.encode_stream(paths[i : i + batch] for i in range(0, len(rows), batch)),
        strict=True,
    ):
        at = [start + p for p in encoded.positions]
        vectors[at] = encoded.vectors
        ok[at] = True
        reasons += [f"{paths[start + s.position]}: {s.reason}" for s in encoded.skipped]
    return vectors, ok, reasons


def evaluate_implicitave(
    model: Any, data_dir: Path, text_encoder: Any, image_encoder: Any
) -> dict[str, Any]:
    """Accuracy of choosing each photographed product's value among its attribute's options:
    fused, from the title alone, from the photo alone, and always the attribute's most
    common training value, overall, per domain and per attribute; the fused choices'
    precision and coverage at the model's threshold and their calibration error."""
    from catalog.implicitave import read_implicitave
    from encoders.value_model import accuracy_report, row_text

    data = read_implicitave(data_dir, texts=False)
    photos, ok, unreadable = encode_photos(image_encoder, data.photos, data_dir)
    photo_usable = image_encoder.encoder_id == model.image_encoder_id
    if text_encoder.encoder_id != model.text_encoder_id:
        raise ShopKGError(
            f"the image-values model was trained on text encoder {model.text_encoder_id!r}, "
            f"the configured one is {text_encoder.encoder_id!r}"
        )
    rows, keys, labels = [], [], []
    for row, key, option in data.labelled(data.photos):
        if key in model.attributes:
            rows.append(row)
            keys.append(key)
            labels.append(option)
        else:
            data.skipped.append(f"{row.location}: the model does not know attribute {key}")
    position = {id(r): i for i, r in enumerate(data.photos)}
    at = np.asarray([position[id(r)] for r in rows], dtype=np.int64)
    titles = text_encoder.encode([row_text(r) for r in rows]).full(len(rows))
    has_photo = ok[at] & photo_usable
    predictions: dict[str, Any] = {n: np.zeros(len(rows), dtype=np.int64) for n in MODES.values()}
    confidence = np.zeros(len(rows))
    for key in sorted(set(keys)):
        members = np.flatnonzero(np.asarray(keys) == key)
        t = titles[members]
        scored = model.views(key, t, photos[at[members]])
        # a row without a readable photo is scored from its title alone
        has = has_photo[members, None]
        scored["photo"] = np.where(has, scored["photo"], scored["prior"])
        scored["fused"] = np.where(has, scored["fused"], scored["title"])
        for mode, log_probs in scored.items():
            predictions[MODES[mode]][members] = log_probs.argmax(1)
        confidence[members] = np.exp(scored["fused"].max(1).astype(np.float64))
    y = np.asarray(labels)
    chance = np.asarray([1.0 / len(model.attributes[k].options) for k in keys])
    written = confidence >= model.threshold
    report = accuracy_report(rows, keys, y, predictions, chance, confidence, written)
    trained_on = set(model.photo_ids) & {r.id for r in rows}
    return {
        "format": "implicitave",
        "data": str(data_dir),
        "model": model.version,
        "image_encoder": image_encoder.encoder_id,
        "text_encoder": text_encoder.encoder_id,
        "photo_head": "used"
        if photo_usable
        else (f"not used: the model's photo heads read {model.image_encoder_id}"),
        "threshold": model.threshold,
        "products_trained_on": len(trained_on),
        "note": (
            f"{len(trained_on)} of these products' photos trained the model: its figures here "
            "are optimistic; the cross-validated figures are in the model's report"
            if trained_on
            else "none of these products trained the model"
        ),
        "unreadable_photos": unreadable,
        "skipped": data.skipped,
        **report,
    }


MODES = {"fused": "fused", "title": "title", "photo": "photo", "prior": "majority"}

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
from pathlib import Path
from typing import Any

import numpy as np

from catalog.demo.items import PATTERNS
from catalog.demo.truth import read_truth
from encoders.image_values import expected_calibration_error
from extraction.values import canonical
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

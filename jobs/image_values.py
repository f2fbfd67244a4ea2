"""The build's image-values stage: what a photo shows and the text leaves out becomes a fact.

For each visual attribute (``image_value_attributes``: colour and pattern by default), the
items whose text states one value teach :func:`encoders.image_values.fit_value_scorer` what
the catalog's known values look like in its photos: in the shared image-text space (the
item's photo vector against each value's prototype and the value's name) and in a colour
histogram of the photo's middle (the shared space was trained to tell products apart, not
navy from royal blue). Then every photographed item whose text states no value of the
attribute gets the photo's most probable value as ``Item -HAS_VALUE-> Value`` with
provenance ``shopkg.image_values@<version>``, its confidence and ``raw`` ``"from the photo"``,
when that confidence reaches the threshold at which held-out predictions reach
``image_value_precision``. The attribute vocabulary is the catalog's own values, never a
hand-written list. Each run replaces the previous run's facts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from foundation.artifacts import index_layout
from foundation.errors import ShopKGError
from jobs.runner import StageContext

if TYPE_CHECKING:
    from encoders.value_model import ValueModel

VERSION = "2"  # 2: the image-values model's attributes besides the catalog's own
EXTRACTOR = f"shopkg.image_values@{VERSION}"
EARLIER = ("shopkg.image_values@1",)  # replaced by this version's facts
FROM_THE_PHOTO = "from the photo"
WRITE_BATCH = 2_000
APPLIES_EVERYWHERE = 0.5  # of the departments state an attribute → it applies to all
SPACES = ("prototype", "colour", "residual")  # the shared image-text space, the colour histogram


class ImageValuesStage:
    name = "image_values"

    def __init__(self, build: Any) -> None:
        self.build = build

    def run(self, context: StageContext) -> dict[str, Any]:
        from encoders.value_model import load_value_model
        from retrieval.vector_index import VectorIndex

        settings = self.build.settings
        attributes = [a for a in settings.image_value_attributes if a]
        directory = index_layout(settings).item_image
        store = self.build.store()
        if not VectorIndex.exists(directory):
            delete_photo_values(store)
            return {"facts": 0, "note": "no item photo vectors; nothing to do"}
        index = VectorIndex.load(directory)
        keys, vectors = index.vectors()
        row_of = {key: i for i, key in enumerate(keys)}
        graph = store.export_networkx(
            labels=("Item", "Value", "Image", "Category"),
            relations=("HAS_VALUE", "HAS_IMAGE", "IN_CATEGORY"),
        )
        model = load_value_model(settings.models_dir)
        modelled_names = model_attribute_names(model) if model is not None else []
        # one pass over the graph for the catalog-fitted and the model's attributes alike
        stated, photos, department = stated_values(graph, sorted({*attributes, *modelled_names}))
        context.progress.start(len(row_of) + len(attributes))
        shared = np.asarray(vectors)
        spaces = []
        if attributes:
            spaces = [
                shared,
                self._colours(keys, photos, context),
                _residuals(shared, keys, department),
            ]
        delete_photo_values(store)
        summary: dict[str, Any] = {"facts": 0, "attributes": {}}
        for attribute in attributes:
            applies = applicable(stated[attribute], department)
            report = self._attribute(attribute, stated[attribute], applies, row_of, spaces, store)
            summary["attributes"][attribute] = report
            summary["facts"] += report.get("facts", 0)
            context.progress.advance(1)
        modelled = self._modelled(model, stated, keys, shared, index.encoder_id, department, store)
        summary["model"] = modelled
        summary["facts"] += modelled["facts"]
        return summary

    def _colours(self, keys: list[str], photos: dict[str, list[str]], context: Any) -> Any:
        """Each item's colour histogram (the mean over its readable photos), in ``keys``
        order; zeros for an item none of whose photos can be read."""
        from encoders.images import COLOUR_BINS, ImageLoadError, colour_histogram

        root = self.build.plan.images
        rows = np.zeros((len(keys), COLOUR_BINS**3), dtype=np.float32)
        for i, key in enumerate(keys):
            found = []
            for relative in photos.get(key, []) if root is not None else []:
                try:
                    found.append(colour_histogram(root / relative))
                except (ImageLoadError, OSError):
                    continue  # the image stage quarantined it with its reason
            if found:
                mean = np.mean(found, axis=0)
                rows[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
            context.progress.advance(1)
        return rows

    def _attribute(
        self,
        attribute: str,
        stated: dict[str, set[str]],
        applies: Callable[[str], bool],
        row_of: dict[str, int],
        spaces: list[Any],
        store: Any,
    ) -> dict[str, Any]:
        from encoders.image_values import fit_value_scorer

        # photographed items stating exactly one value teach; several values (a two-tone
        # shirt) say nothing about which one the photo shows
        labelled = {k: next(iter(v)) for k, v in stated.items() if len(v) == 1 and k in row_of}
        values = sorted(set(labelled.values()))
        if len(values) < 2:
            return {"facts": 0, "note": f"{len(values)} stated value(s) with photos"}
        text_vectors = self.build.text_encoder().encode(values).full(len(values))
        if text_vectors.shape[1] != spaces[0].shape[1]:
            text_vectors = None  # an image encoder not aligned with this text encoder
        items = sorted(labelled)
        try:
            rows = [row_of[k] for k in items]
            scorer = fit_value_scorer(
                attribute,
                values,
                text_vectors,
                [space[rows] for space in spaces],
                [values.index(labelled[k]) for k in items],
                self.build.settings.image_value_precision,
                SPACES,
            )
        except ShopKGError as e:
            return {"facts": 0, "note": str(e)}
        candidates = sorted(k for k in row_of if k not in stated and applies(k))
        report = dict(scorer.report)
        report.update(candidates=len(candidates), facts=0)
        if not candidates:
            return report
        rows = [row_of[k] for k in candidates]
        predicted, confidence = scorer.predict([space[rows] for space in spaces])
        chosen = [
            (key, value, float(p))
            for key, value, p in zip(candidates, predicted, confidence, strict=True)
            if p >= scorer.threshold
        ]
        report["facts"] = write_values(store, attribute, chosen)
        return report

    def _modelled(
        self,
        model: ValueModel | None,
        stated: dict[str, dict[str, set[str]]],
        image_keys: list[str],
        image_vectors: Any,
        image_encoder_id: str,
        department: dict[str, str],
        store: Any,
    ) -> dict[str, Any]:
        """Values of the image-values model's attributes (ImplicitAVE's sleeve style,
        neckline, heel height …) for the items in categories it knows, chosen from their
        photo and title vectors (the ones the build already computed). ``stated``: each of
        its attributes' values as the items' text states them."""
        from extraction.values import canonical, canonical_attribute
        from retrieval.vector_index import VectorIndex

        if model is None:
            return {"facts": 0, "note": "no image-values model"}
        if model.image_encoder_id != image_encoder_id:
            return {
                "facts": 0,
                "note": f"the image-values model reads photos of {model.image_encoder_id}, "
                f"this build's are encoded by {image_encoder_id}",
            }
        text_dir = index_layout(self.build.settings).item_text
        if not VectorIndex.exists(text_dir):
            return {"facts": 0, "note": "no item text vectors"}
        text_index = VectorIndex.load(text_dir)
        if text_index.encoder_id != model.text_encoder_id:
            return {
                "facts": 0,
                "note": f"the image-values model reads titles of {model.text_encoder_id}, "
                f"this build's are encoded by {text_index.encoder_id}",
            }
        text_keys, text_vectors = text_index.vectors()
        text_row = {k: i for i, k in enumerate(text_keys)}
        wanted: dict[str, list[int]] = defaultdict(list)  # model attribute → image rows
        for row, item in enumerate(image_keys):
            if item in text_row:
                for key in model.applicable(department.get(item, "").split(" > ")):
                    wanted[key].append(row)
        names = {key: canonical_attribute(model.attributes[key].name) for key in wanted}
        report: dict[str, Any] = {"model": model.version, "facts": 0, "attributes": {}}
        for key, rows in sorted(wanted.items()):
            rows = [r for r in rows if image_keys[r] not in stated[names[key]]]
            if not rows:
                continue
            items = [image_keys[r] for r in rows]
            in_category = len(items)
            titles = np.asarray(text_vectors)[[text_row[k] for k in items]]
            applies = model.applies(key, titles)
            items = [item for item, a in zip(items, applies, strict=True) if a]
            rows = [row for row, a in zip(rows, applies, strict=True) if a]
            titles = titles[applies]
            if not rows:
                report["attributes"][key] = {"in_category": in_category, "candidates": 0}
                continue
            values, confidence = model.choose(key, titles, np.asarray(image_vectors)[rows])
            chosen = [
                (item, canonical(value, names[key]), float(p))
                for item, value, p in zip(items, values, confidence, strict=True)
                if p >= model.threshold
            ]
            written = write_values(store, names[key], chosen)
            report["attributes"][key] = {
                "in_category": in_category,
                "candidates": len(items),
                "facts": written,
            }
            report["facts"] += written
        return report


def model_attribute_names(model: ValueModel) -> list[str]:
    """The KG attribute names of the image-values model's attributes."""
    from extraction.values import canonical_attribute

    return sorted({canonical_attribute(a.name) for a in model.attributes.values()})


def delete_photo_values(store: Any) -> None:
    for extractor in (EXTRACTOR, *EARLIER):
        store.delete_facts(extractor=extractor)


def write_values(store: Any, attribute: str, chosen: list[tuple[str, str, float]]) -> int:
    """Write ``(item, value, confidence)`` facts of ``attribute`` read from photos."""
    from kg import NodeRef, NodeRow, Provenance, RelationRow

    relations: list[Any] = []
    nodes: dict[str, Any] = {}
    for key, value, p in chosen:
        fields = {"attribute": attribute, "value": value, "unit": ""}
        prov = Provenance(source=key, extractor=EXTRACTOR, confidence=round(p, 4))
        nodes.setdefault(value, NodeRow("Value", fields, prov))
        relations.append(
            RelationRow(
                "HAS_VALUE",
                NodeRef("Item", key),
                store.ref("Value", **fields),
                {"raw": FROM_THE_PHOTO},
                prov,
            )
        )
    for start in range(0, len(relations), WRITE_BATCH):
        store.upsert(
            nodes=list(nodes.values()) if start == 0 else [],
            relations=relations[start : start + WRITE_BATCH],
        )
    return len(relations)


def applicable(stated: dict[str, set[str]], category: dict[str, str]) -> Callable[[str], bool]:
    """Whether an item may get a value of the attribute its ``stated`` values are of. An
    attribute stated in at least :data:`APPLIES_EVERYWHERE` of the departments (top-level
    categories) applies to every item: colour is stated for shoes, lamps and cables alike,
    and a tea tin shows one too. Any other applies only in the categories where items state
    it: a pattern is learned from the shirts that state one and is no fact about a tent."""
    top = {item: path.split(" > ")[0] for item, path in category.items()}
    departments = set(top.values())
    if departments and len({top[k] for k in stated if k in top}) >= APPLIES_EVERYWHERE * len(
        departments
    ):
        return lambda item: True
    stating = {category[k] for k in stated if k in category}
    return lambda item: category.get(item) in stating


def stated_values(
    graph: Any, attributes: list[str]
) -> tuple[dict[str, dict[str, set[str]]], dict[str, list[str]], dict[str, str]]:
    """Per attribute, each item's values as its text or catalog states them (not those an
    earlier run of this stage wrote); each item's photos (paths under the image root); and
    each item's department (the top of its category path)."""
    from extraction.values import canonical_attribute

    stated: dict[str, dict[str, set[str]]] = {a: defaultdict(set) for a in attributes}
    photos: dict[str, list[str]] = defaultdict(list)
    department: dict[str, str] = {}
    for (start_label, item), (end_label, end), relation, data in graph.edges(keys=True, data=True):
        if start_label != "Item":
            continue
        if relation == "IN_CATEGORY" and end_label == "Category":
            department[item] = str(end)
            continue
        if relation == "HAS_IMAGE" and end_label == "Image":
            path = graph.nodes[(end_label, end)].get("path")
            if path:
                photos[item].append(str(path))
            continue
        if relation != "HAS_VALUE" or end_label != "Value":
            continue
        node = graph.nodes[(end_label, end)]
        attribute = canonical_attribute(str(node.get("attribute") or ""))
        extractors = {p.get("extractor") for p in data.get("provenance", [data])}
        if attribute in stated and extractors - {EXTRACTOR}:
            stated[attribute][item].add(str(node.get("value")))
    return stated, photos, department


def _residuals(vectors: Any, keys: list[str], category: dict[str, str]) -> Any:
    """Each photo vector less the mean of its category's: what sets this item apart from
    its kind (its colour, its pattern) rather than what kind of thing it is."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        groups[category.get(key, "")].append(i)
    out = np.array(vectors, dtype=np.float32)
    for rows in groups.values():
        if len(rows) > 1:
            out[rows] -= out[rows].mean(axis=0)
    norms = np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out / norms

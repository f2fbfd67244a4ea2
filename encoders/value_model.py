"""Choosing an attribute's value from a product's photo and title (ImplicitAVE).

Some values a shopper cares about are seen, not written: a dress's neckline, a boot's shaft
height, a candy's form. :class:`ValueModel` chooses among an attribute's known options from
two views of a product, each a multinomial logistic regression per attribute:

- **title**: over the MiniLM vector of the text the build's dense channel encodes for the
  item (:func:`catalog.schema.item_text`: title and category path), trained on the 68,604
  text-only rows of ``training_texts`` (their photos are not available); the regularization
  is chosen on their ``val`` split;
- **photo**: over ShopKG's image-tower vector of the photo (the vector the build's image
  stage already computed), trained on the few hundred labelled photos.

Fused, per attribute, ``softmax(a * title + b * photo)`` of the two views' log-probabilities,
with ``a`` and ``b`` fitted by likelihood on out-of-fold predictions (so the confidence is
calibrated) and pulled towards the title alone, since most attributes have a few dozen
photos; the build writes a value when that confidence reaches ``threshold``, the lowest at
which the held-out predictions were right ``target_precision`` of the time. The fusion, the
threshold and the photo heads' regularization are chosen by cross-validation over the
photos (5 folds by a hash of the product id), and every figure in :attr:`ValueModel.report`
is of predictions for photos the deciding model never saw.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from catalog.implicitave import ImplicitAve, ImplicitRow
from catalog.schema import CatalogRecord, item_text
from encoders.image_values import choose_threshold, expected_calibration_error
from foundation.errors import EncoderError

Array = npt.NDArray[np.float32]
BUNDLED_VALUE_MODEL = Path(__file__).resolve().parent / "models" / "image-values"
FORMAT_VERSION = 1
FOLDS = 5
TEXT_C = (1.0, 3.0, 10.0, 30.0)
PHOTO_C = (3.0, 10.0, 30.0, 100.0)
FUSION_RIDGE = 1.0  # pulls an attribute's fusion weights towards the title alone
APPLIES = 0.05  # an attribute may apply in a category when this share of its rows has it
APPLIES_MIN = 0.2  # ... and applies to a product when the attribute classifier says so
ABSENT = -20.0  # bias of an option no training row had


@dataclass
class Head:
    """One multinomial logistic regression: ``log_softmax(x @ weight.T + bias)``."""

    weight: Array  # (options, dimension)
    bias: Array  # (options,)

    def log_probs(self, x: Array) -> Array:
        return log_softmax(x @ self.weight.T + self.bias)


@dataclass
class AttributeModel:
    """What the model knows of one attribute (``group|name``)."""

    key: str
    options: list[str]
    counts: list[int]  # training rows per option (the majority baseline)
    title: Head
    photo: Head | None = None

    @property
    def name(self) -> str:
        return self.key.split("|", 1)[1]

    def prior(self, n: int) -> Array:
        smoothed = np.asarray(self.counts, dtype=np.float32) + 1.0
        return np.tile(np.log(smoothed / smoothed.sum()), (n, 1)).astype(np.float32)


@dataclass
class ValueModel:
    attributes: dict[str, AttributeModel]
    categories: dict[str, list[str]]  # category (lower case) → attribute keys that apply
    fusion: dict[str, tuple[float, float]]  # key → weights of the title's, the photo's log-probs
    threshold: float
    text_encoder_id: str
    image_encoder_id: str
    photo_ids: list[str] = field(default_factory=list)  # the labelled photos trained on
    report: dict[str, Any] = field(default_factory=dict)
    kinds: Head | None = None  # which attribute a product's title is about (sorted keys)

    @property
    def version(self) -> str:
        digest = hashlib.sha256()
        for key in sorted(self.attributes):
            head = self.attributes[key]
            digest.update(key.encode())
            # the weights as saved (fp16), so a loaded model has the version it was saved with
            digest.update(head.title.weight.astype(np.float16).tobytes())
            if head.photo is not None:
                digest.update(head.photo.weight.astype(np.float16).tobytes())
        if self.kinds is not None:
            digest.update(self.kinds.weight.astype(np.float16).tobytes())
        digest.update(json.dumps([sorted(self.fusion.items()), self.threshold]).encode())
        return digest.hexdigest()[:12]

    def log_probs(
        self, key: str, titles: Array | None, photos: Array | None, mode: str = "fused"
    ) -> Array:
        """Log-probabilities of ``key``'s options, per row: from the ``title`` vectors, the
        ``photo`` vectors, both (``fused``, calibrated), or the training ``prior``."""
        return self.views(key, titles, photos)[mode]

    def views(self, key: str, titles: Array | None, photos: Array | None) -> dict[str, Array]:
        """Every way :meth:`log_probs` scores the rows, each head run once: ``title``,
        ``photo`` (the prior without photos), ``fused`` and ``prior``."""
        attribute = self.attributes[key]
        n = len(titles) if titles is not None else len(photos) if photos is not None else 0
        prior = attribute.prior(n)
        title = attribute.title.log_probs(titles) if titles is not None else prior
        photo = (
            attribute.photo.log_probs(photos)
            if attribute.photo is not None and photos is not None
            else prior
        )
        a, b = self.fusion.get(key, (1.0, 0.0))
        return {"title": title, "photo": photo, "fused": fuse(title, photo, a, b), "prior": prior}

    def choose(
        self, key: str, titles: Array | None, photos: Array | None
    ) -> tuple[list[str], npt.NDArray[np.float64]]:
        """The most probable option per row and its calibrated confidence."""
        probs = np.exp(self.log_probs(key, titles, photos).astype(np.float64))
        best = probs.argmax(axis=1)
        options = self.attributes[key].options
        return [options[i] for i in best], probs[np.arange(len(best)), best]

    def applicable(self, category: Sequence[str]) -> list[str]:
        """The attributes that may apply to an item in this category path (any level)."""
        keys: list[str] = []
        for level in category:
            keys += [k for k in self.categories.get(level.strip().lower(), []) if k not in keys]
        return keys

    def applies(self, key: str, titles: Array) -> npt.NDArray[np.bool_]:
        """Per row, whether ``key`` applies to the product: the attribute classifier gives it
        at least :data:`APPLIES_MIN` (a boot has a boot style, a trainer an athletic one,
        though both are shoes). Without that classifier, every row."""
        if self.kinds is None:
            return np.ones(len(titles), dtype=bool)
        column = sorted(self.attributes).index(key)
        probs = np.exp(self.kinds.log_probs(titles)[:, column].astype(np.float64))
        applies: npt.NDArray[np.bool_] = probs >= APPLIES_MIN
        return applies

    def save(self, directory: Path) -> Path:
        from safetensors.numpy import save_file

        directory.mkdir(parents=True, exist_ok=True)
        tensors: dict[str, Array] = {}
        attributes = []
        for i, key in enumerate(sorted(self.attributes)):
            a = self.attributes[key]
            tensors[f"{i}.title.weight"] = a.title.weight.astype(np.float16)
            tensors[f"{i}.title.bias"] = a.title.bias.astype(np.float32)
            if a.photo is not None:
                tensors[f"{i}.photo.weight"] = a.photo.weight.astype(np.float16)
                tensors[f"{i}.photo.bias"] = a.photo.bias.astype(np.float32)
            attributes.append({"key": key, "options": a.options, "counts": a.counts})
        if self.kinds is not None:
            tensors["kinds.weight"] = self.kinds.weight.astype(np.float16)
            tensors["kinds.bias"] = self.kinds.bias.astype(np.float32)
        save_file(tensors, str(directory / "model.safetensors"))
        config = {
            "format_version": FORMAT_VERSION,
            "version": self.version,
            "text_encoder_id": self.text_encoder_id,
            "image_encoder_id": self.image_encoder_id,
            "fusion": {k: list(w) for k, w in sorted(self.fusion.items())},
            "threshold": self.threshold,
            "attributes": attributes,
            "categories": self.categories,
            "photo_ids": self.photo_ids,
            "report": self.report,
        }
        (directory / "config.json").write_text(json.dumps(config, indent=1) + "\n")
        return directory

    @classmethod
    def load(cls, directory: Path) -> ValueModel:
        from safetensors.numpy import load_file

        config_file = directory / "config.json"
        if not config_file.is_file():
            raise EncoderError(f"{directory} holds no image-values model (config.json)")
        config = json.loads(config_file.read_text())
        if config.get("format_version") != FORMAT_VERSION:
            raise EncoderError(
                f"{directory}: image-values model format {config.get('format_version')}, "
                f"this ShopKG reads {FORMAT_VERSION}; train it again"
            )
        tensors = load_file(str(directory / "model.safetensors"))

        def head(name: str) -> Head | None:
            if f"{name}.weight" not in tensors:
                return None
            return Head(
                tensors[f"{name}.weight"].astype(np.float32),
                tensors[f"{name}.bias"].astype(np.float32),
            )

        attributes = {}
        for i, entry in enumerate(config["attributes"]):
            title = head(f"{i}.title")
            assert title is not None, f"{directory}: attribute {i} has no title head"
            attributes[entry["key"]] = AttributeModel(
                entry["key"], entry["options"], entry["counts"], title, head(f"{i}.photo")
            )
        return cls(
            attributes,
            config["categories"],
            {k: (float(w[0]), float(w[1])) for k, w in config["fusion"].items()},
            float(config["threshold"]),
            config["text_encoder_id"],
            config["image_encoder_id"],
            list(config.get("photo_ids", [])),
            config.get("report", {}),
            head("kinds"),
        )


def load_value_model(models_dir: Path) -> ValueModel | None:
    """The model trained into ``models_dir/image-values``, else the one shipped, else None."""
    for directory in (models_dir / "image-values", BUNDLED_VALUE_MODEL):
        if (directory / "config.json").is_file():
            return ValueModel.load(directory)
    return None


def log_softmax(z: npt.NDArray[Any]) -> Array:
    z = z - z.max(axis=1, keepdims=True)
    out: Array = (z - np.log(np.exp(z).sum(axis=1, keepdims=True))).astype(np.float32)
    return out


def fuse(title: Array, photo: Array, title_weight: float, photo_weight: float) -> Array:
    return log_softmax(title_weight * title + photo_weight * photo)


def fit_head(x: Array, y: npt.NDArray[np.int64], options: int, c: float) -> Head:
    """Multinomial logistic regression (L2, strength 1/c; deterministic lbfgs) over the
    options seen in ``y``; options never seen get a very low bias."""
    weight = np.zeros((options, x.shape[1]), dtype=np.float32)
    bias = np.full(options, ABSENT, dtype=np.float32)
    seen = np.unique(y)
    if len(seen) == 1:
        bias[seen[0]] = 0.0
        return Head(weight, bias)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=3000)
    model.fit(x, y)
    weight[model.classes_] = model.coef_.astype(np.float32)
    bias[model.classes_] = model.intercept_.astype(np.float32)
    return Head(weight, bias)


def fold_of(product_id: str) -> int:
    return int(hashlib.sha256(product_id.encode()).hexdigest(), 16) % FOLDS


def row_text(row: ImplicitRow) -> str:
    """The text the build's dense channel encodes for this product (the same function)."""
    return item_text(CatalogRecord.model_validate(row.record()))


@dataclass
class Labelled:
    """Rows of one attribute with their vectors and option indices."""

    rows: list[ImplicitRow]
    titles: Array
    labels: npt.NDArray[np.int64]
    photos: Array | None = None

    @functools.cached_property
    def folds(self) -> npt.NDArray[np.int64]:
        """Each row's cross-validation fold (:func:`fold_of` its product id)."""
        return np.asarray([fold_of(r.id) for r in self.rows], dtype=np.int64)


def group_by_key(
    data: ImplicitAve, rows: list[ImplicitRow], titles: Array, photos: Array | None = None
) -> dict[str, Labelled]:
    position = {id(r): i for i, r in enumerate(rows)}
    grouped: dict[str, list[tuple[ImplicitRow, int]]] = {}
    for row, key, option in data.labelled(rows):
        grouped.setdefault(key, []).append((row, option))
    out = {}
    for key, members in grouped.items():
        at = [position[id(r)] for r, _ in members]
        out[key] = Labelled(
            [r for r, _ in members],
            titles[at],
            np.asarray([o for _, o in members], dtype=np.int64),
            photos[at] if photos is not None else None,
        )
    return out


def train_value_model(
    data: ImplicitAve,
    encode_texts: Callable[[list[str]], Array],
    photo_vectors: Array,
    photo_ok: npt.NDArray[np.bool_],
    *,
    text_encoder_id: str,
    image_encoder_id: str,
    target_precision: float = 0.9,
    log: Callable[[str], None] = lambda _: None,
) -> ValueModel:
    """Train the title heads on the text-only rows, the photo heads and the fusion on the
    photographed rows (``photo_vectors[i]`` for ``data.photos[i]``; rows whose photo could not
    be read, ``photo_ok`` false, are left out), and report cross-validated figures."""
    log(f"encoding {len(data.train) + len(data.val)} training titles")
    train = group_by_key(data, data.train, encode_texts([row_text(r) for r in data.train]))
    val = group_by_key(data, data.val, encode_texts([row_text(r) for r in data.val]))
    text_c, text_scores = _choose_text_c(data, train, val)
    log(f"title heads: C {text_c} (val accuracy by C: {text_scores})")
    keys = sorted(data.options)
    attributes: dict[str, AttributeModel] = {}
    for key in keys:
        parts = [g for g in (train.get(key), val.get(key)) if g is not None]
        if not parts:
            continue
        x = np.concatenate([p.titles for p in parts])
        y = np.concatenate([p.labels for p in parts])
        options = len(data.options[key])
        counts = np.bincount(y, minlength=options).tolist()
        attributes[key] = AttributeModel(
            key, data.options[key], counts, fit_head(x, y, options, text_c)
        )
    ordered = sorted(attributes)
    everything = [g for part in (train, val) for g in part.items() if g[0] in attributes]
    kinds = fit_head(
        np.concatenate([g.titles for _, g in everything]),
        np.concatenate([np.full(len(g.labels), ordered.index(k)) for k, g in everything]),
        len(ordered),
        text_c,
    )
    log("attribute classifier fitted")
    kept = [r for r, ok in zip(data.photos, photo_ok, strict=True) if ok]
    photo_titles = encode_texts([row_text(r) for r in kept])
    photos = group_by_key(data, kept, photo_titles, photo_vectors[np.asarray(photo_ok)])
    photos = {k: g for k, g in photos.items() if k in attributes}
    log(f"{sum(len(g.rows) for g in photos.values())} labelled photos; cross-validating")
    outer = _cross_validate(attributes, photos)
    photo_c = _choose_photo_c(attributes, photos, list(range(FOLDS)))
    for key, group in photos.items():
        assert group.photos is not None
        attributes[key].photo = fit_head(
            group.photos, group.labels, len(attributes[key].options), photo_c
        )
    fusion, threshold = _fusion(
        outer["title"], outer["photo"], outer["labels"], outer["keys"], target_precision
    )
    model = ValueModel(
        attributes,
        _categories(data, data.train + data.val + data.photos),
        fusion,
        threshold,
        text_encoder_id,
        image_encoder_id,
        sorted(r.id for r in kept),
        kinds=kinds,
    )
    model.report = {
        "cross_validated": _report(model, outer, target_precision),
        "labelled_attribute_applies": _applies_recall(model, photos),
        "title_c": text_c,
        "title_val_accuracy_by_c": text_scores,
        "photo_c": photo_c,
        "fusion": {k: {"title": a, "photo": b} for k, (a, b) in fusion.items()},
        "threshold": threshold,
        "target_precision": target_precision,
        "training_rows": sum(len(g.rows) for g in (*train.values(), *val.values())),
        "photos": len(kept),
        "photos_unreadable": int((~np.asarray(photo_ok)).sum()),
        "rows_skipped": len(data.skipped),
    }
    return model


def _choose_text_c(
    data: ImplicitAve, train: dict[str, Labelled], val: dict[str, Labelled]
) -> tuple[float, dict[str, float]]:
    scores = {}
    for c in TEXT_C:
        right = total = 0
        for key, group in val.items():
            if key not in train:
                continue
            head = fit_head(train[key].titles, train[key].labels, len(data.options[key]), c)
            right += int((head.log_probs(group.titles).argmax(1) == group.labels).sum())
            total += len(group.labels)
        scores[str(c)] = round(right / max(total, 1), 4)
    best = max(TEXT_C, key=lambda c: (scores[str(c)], -c))
    return best, scores


def _photo_predictions(
    attributes: dict[str, AttributeModel],
    photos: dict[str, Labelled],
    train_folds: list[int],
    test_fold: int,
    c: float,
) -> dict[str, Array]:
    """Photo log-probs of ``test_fold``'s rows from heads fitted on ``train_folds``' rows."""
    out = {}
    for key, group in photos.items():
        assert group.photos is not None
        folds = group.folds
        test = folds == test_fold
        if not test.any():
            continue
        fit = np.isin(folds, train_folds)
        if fit.any():
            head = fit_head(group.photos[fit], group.labels[fit], len(attributes[key].options), c)
            out[key] = head.log_probs(group.photos[test])
        else:
            out[key] = attributes[key].prior(int(test.sum()))
    return out


def _choose_photo_c(
    attributes: dict[str, AttributeModel], photos: dict[str, Labelled], folds: list[int]
) -> float:
    """The photo heads' C with the best accuracy in cross-validation over ``folds``."""
    scores = {}
    for c in PHOTO_C:
        right = 0
        for held in folds:
            predicted = _photo_predictions(
                attributes, photos, [f for f in folds if f != held], held, c
            )
            for key, log_probs in predicted.items():
                group = photos[key]
                test = group.folds == held
                right += int((log_probs.argmax(1) == group.labels[test]).sum())
        scores[c] = right
    return max(PHOTO_C, key=lambda c: (scores[c], -c))


def _cross_validate(
    attributes: dict[str, AttributeModel], photos: dict[str, Labelled]
) -> dict[str, Any]:
    """Out-of-fold photo log-probs (each fold's heads, C chosen by inner cross-validation on
    the other folds), the title log-probs, the labels, keys and rows, in one order."""
    out: dict[str, Any] = {"title": [], "photo": [], "labels": [], "keys": [], "rows": []}
    for held in range(FOLDS):
        rest = [f for f in range(FOLDS) if f != held]
        c = _choose_photo_c(attributes, photos, rest)
        predicted = _photo_predictions(attributes, photos, rest, held, c)
        for key, log_probs in predicted.items():
            group = photos[key]
            test = group.folds == held
            titles = attributes[key].title.log_probs(group.titles[test])
            for i, row in enumerate(r for r, t in zip(group.rows, test, strict=True) if t):
                out["title"].append(titles[i])
                out["photo"].append(log_probs[i])
                out["labels"].append(int(group.labels[test][i]))
                out["keys"].append(key)
                out["rows"].append(row)
    return out


def _fusion(
    title: list[Array],
    photo: list[Array],
    labels: list[int],
    keys: list[str],
    target_precision: float,
) -> tuple[dict[str, tuple[float, float]], float]:
    """Per attribute, the weights of the title's and the photo's log-probabilities, by
    penalized likelihood on these out-of-fold predictions (pulled towards the title alone,
    ``(1, 0)``, so an attribute with few photos keeps about that); then the threshold at
    which the fused choices keep ``target_precision``."""
    from scipy.optimize import minimize

    weights: dict[str, tuple[float, float]] = {}
    for key in sorted(set(keys)):
        at = [i for i, k in enumerate(keys) if k == key]
        t = np.stack([title[i] for i in at]).astype(np.float64)
        p = np.stack([photo[i] for i in at]).astype(np.float64)
        y = np.asarray([labels[i] for i in at])

        best = minimize(
            _fusion_loss,
            np.array([1.0, 0.0]),
            args=(t, p, y),
            method="L-BFGS-B",
            bounds=[(0, 5), (0, 5)],
        )
        weights[key] = (round(float(best.x[0]), 4), round(float(best.x[1]), 4))
    confidence, correct = _confidence(title, photo, np.asarray(labels), keys, weights)
    threshold, _ = choose_threshold(confidence, correct, target_precision)
    return weights, threshold


def _fusion_loss(
    w: npt.NDArray[np.float64],
    title: npt.NDArray[np.float64],
    photo: npt.NDArray[np.float64],
    y: npt.NDArray[Any],
) -> float:
    z = w[0] * title + w[1] * photo  # float64 throughout: the optimizer's steps are tiny
    z = z - z.max(axis=1, keepdims=True)
    fused = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    penalty = float(FUSION_RIDGE * ((w[0] - 1.0) ** 2 + w[1] ** 2))
    return -float(fused[np.arange(len(y)), y].sum()) + penalty


def _confidence(
    title: list[Array],
    photo: list[Array],
    y: npt.NDArray[Any],
    keys: list[str],
    weights: dict[str, tuple[float, float]],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    confidence, correct = [], []
    for t, p, label, key in zip(title, photo, y, keys, strict=True):
        a, b = weights.get(key, (1.0, 0.0))
        probs = np.exp(fuse(t[None], p[None], a, b)[0].astype(np.float64))
        confidence.append(probs.max())
        correct.append(int(probs.argmax()) == int(label))
    return np.asarray(confidence), np.asarray(correct)


def _report(model: ValueModel, outer: dict[str, Any], target_precision: float) -> dict[str, Any]:
    """Cross-validated figures: the fusion weights and the threshold fitted on the other
    folds' out-of-fold predictions, then applied to this fold's."""
    n = len(outer["labels"])
    y = np.asarray(outer["labels"])
    folds = np.asarray([fold_of(r.id) for r in outer["rows"]])
    fused = np.zeros(n, dtype=np.int64)
    confidence = np.zeros(n)
    written = np.zeros(n, dtype=bool)
    for held in range(FOLDS):
        rest = np.flatnonzero(folds != held)
        test = np.flatnonzero(folds == held)
        weights, threshold = _fusion(
            [outer["title"][i] for i in rest],
            [outer["photo"][i] for i in rest],
            [outer["labels"][i] for i in rest],
            [outer["keys"][i] for i in rest],
            target_precision,
        )
        held_confidence, _ = _confidence(
            [outer["title"][i] for i in test],
            [outer["photo"][i] for i in test],
            y[test],
            [outer["keys"][i] for i in test],
            weights,
        )
        for j, i in enumerate(test):
            a, b = weights.get(outer["keys"][i], (1.0, 0.0))
            fused[i] = int(np.argmax(a * outer["title"][i] + b * outer["photo"][i]))
            confidence[i] = held_confidence[j]
            written[i] = confidence[i] >= threshold
    predictions = {
        "fused": fused,
        "title": np.asarray([np.argmax(t) for t in outer["title"]]),
        "photo": np.asarray([np.argmax(p) for p in outer["photo"]]),
        "majority": np.asarray([int(np.argmax(model.attributes[k].counts)) for k in outer["keys"]]),
    }
    chance = np.asarray([1.0 / len(model.attributes[k].options) for k in outer["keys"]])
    return accuracy_report(
        outer["rows"], outer["keys"], y, predictions, chance, confidence, written
    )


def accuracy_report(
    rows: Sequence[ImplicitRow],
    keys: Sequence[str],
    labels: npt.NDArray[Any],
    predictions: dict[str, npt.NDArray[Any]],
    chance: npt.NDArray[Any],
    confidence: npt.NDArray[Any],
    written: npt.NDArray[np.bool_],
) -> dict[str, Any]:
    """Accuracy of each way of predicting, overall, per domain and per attribute, the
    expected accuracy of a uniform guess, and the fused predictions' precision and coverage
    at the threshold and calibration error."""

    def figures(mask: npt.NDArray[np.bool_]) -> dict[str, Any]:
        out: dict[str, Any] = {"rows": int(mask.sum())}
        for name, predicted in predictions.items():
            out[name] = round(float((predicted[mask] == labels[mask]).mean()), 4)
        out["chance"] = round(float(chance[mask].mean()), 4)
        return out

    everything = np.ones(len(labels), dtype=bool)
    correct = predictions["fused"] == labels
    report = figures(everything)
    report["at_threshold"] = {
        "precision": round(float(correct[written].mean()), 4) if written.any() else None,
        "coverage": round(float(written.mean()), 4),
        "written": int(written.sum()),
    }
    report["calibration_error"] = round(expected_calibration_error(confidence, correct), 4)
    domains = np.asarray([r.domain for r in rows])
    report["per_domain"] = {d: figures(domains == d) for d in sorted(set(domains))}
    key_array = np.asarray(keys)
    report["per_attribute"] = {k: figures(key_array == k) for k in sorted(set(keys))}
    return report


def _applies_recall(model: ValueModel, photos: dict[str, Labelled]) -> dict[str, Any]:
    """How often the labelled attribute of a photographed product is among those the build
    would consider for it (its category's, and the attribute classifier's at
    :data:`APPLIES_MIN`); the classifier never saw these products."""
    considered = applies = total = 0
    for key, group in photos.items():
        for row, title in zip(group.rows, group.titles, strict=True):
            total += 1
            if key in model.applicable([row.domain, row.category]):
                considered += 1
                applies += bool(model.applies(key, title[None])[0])
    return {
        "in_category": round(considered / max(total, 1), 4),
        "applies": round(applies / max(total, 1), 4),
        "min_probability": APPLIES_MIN,
    }


def _categories(data: ImplicitAve, rows: list[ImplicitRow]) -> dict[str, list[str]]:
    """Category (lower case) → the attributes at least :data:`APPLIES` of its rows have."""
    seen: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = seen.setdefault(row.category.strip().lower(), {})
        key = data.key(row)
        counts[key] = counts.get(key, 0) + 1
    out = {}
    for category, counts in sorted(seen.items()):
        total = sum(counts.values())
        out[category] = sorted(k for k, n in counts.items() if n >= APPLIES * total)
    return out

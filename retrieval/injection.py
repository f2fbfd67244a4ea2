"""DictBERT-style knowledge injection: the query vector attends over the KG entries it names.

Input augmentation (:meth:`retrieval.search.HybridSearcher.augmented`) appends the names of the
matched entries to the query text. The fusion here is the second, trained step: the frozen text
encoder's query vector ``q`` attends (one extra hop) over the vectors of the matched entries'
``"name: gloss"`` texts, and a gate decides how much of what it read to add::

    alpha = softmax([q Wq · null, q Wq · (e_j Wk)] / sqrt(h))    # a null slot may take it all
    a     = sum_j alpha_j (e_j + e_j Vd Vu)                        # low-rank value correction
    g     = sigmoid([q, a] · w + b)
    q'    = normalize(q + g a)

With no entries ``q' == q`` exactly; at initialisation ``Vu`` and ``w`` are zero and ``b`` is
negative, so ``q'`` stays close to ``q``. The weights are trained by
:mod:`retrieval.injection_train` against the frozen item-text vectors and saved as
``model.safetensors`` + ``config.json`` with the text encoder they were trained against; a
module trained against another encoder is refused. Inference is plain numpy, so search does
not import torch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from foundation.errors import RetrievalError
from retrieval.query import DictionaryEntry

if TYPE_CHECKING:
    from kg import GraphStore

ARCHITECTURE = "shopkg-knowledge-injection"
VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
MODEL_DIR = "injection"
WEIGHT_NAMES = (
    "query_proj",
    "key_proj",
    "null_key",
    "value_down",
    "value_up",
    "gate_weight",
    "gate_bias",
)

# what an entry is, for nodes the KG gives no gloss of their own
LABEL_GLOSSES = {
    "Brand": "a brand",
    "Category": "a product category",
    "Concept": "a kind of product",
    "POI": "a product feature",
    "Problem": "a problem shoppers want solved",
    "Scene": "a situation products are used in",
    "Crowd": "a group of shoppers",
}

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class InjectionConfig:
    """Shape of the module and what it was trained against; stored as ``config.json``."""

    dimension: int
    text_encoder_id: str
    hidden: int = 64  # attention width
    rank: int = 32  # rank of the value correction
    max_entries: int = 8  # entries a query attends over, in query order
    gate_bias: float = -2.0  # initial gate sigmoid(-2) ≈ 0.12
    meta: dict[str, Any] = field(default_factory=dict)  # training data, curve, seed

    def to_dict(self) -> dict[str, Any]:
        return {"architecture": ARCHITECTURE, "version": VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: Path) -> InjectionConfig:
        if data.get("architecture") != ARCHITECTURE:
            raise RetrievalError(
                f"{where} describes {data.get('architecture')!r}, not a {ARCHITECTURE}; "
                "point at a directory `shopkg train injection` wrote"
            )
        if data.get("version") != VERSION:
            raise RetrievalError(
                f"{where} is version {data.get('version')!r} of the injection module; this "
                f"ShopKG reads version {VERSION}: retrain with `shopkg train injection`"
            )
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        try:
            return cls(**fields)
        except TypeError as e:
            raise RetrievalError(f"{where} is incomplete: {e}") from e


def initial_weights(config: InjectionConfig, seed: int = 0) -> dict[str, Vector]:
    """Near-identity start: random attention projections, zero value correction and gate."""
    rng = np.random.default_rng(seed)
    d, h, r = config.dimension, config.hidden, config.rank

    def normal(*shape: int, scale: float) -> Vector:
        return rng.normal(0.0, scale, size=shape).astype(np.float32)

    return {
        "query_proj": normal(d, h, scale=1.0 / math.sqrt(d)),
        "key_proj": normal(d, h, scale=1.0 / math.sqrt(d)),
        "null_key": np.zeros(h, dtype=np.float32),
        "value_down": normal(d, r, scale=1.0 / math.sqrt(d)),
        "value_up": np.zeros((r, d), dtype=np.float32),
        "gate_weight": np.zeros(2 * d, dtype=np.float32),
        "gate_bias": np.full(1, config.gate_bias, dtype=np.float32),
    }


@dataclass(frozen=True)
class Injected:
    """The fused query vector and how it came about (for explanations)."""

    vector: Vector  # unit length
    attention: list[float]  # per entry, in the order given; the null slot takes the rest
    gate: float


class KnowledgeInjector:
    """The trained fusion: ``inject(q, entry vectors) → q'`` (numpy, one query at a time)."""

    def __init__(self, config: InjectionConfig, weights: dict[str, Vector]) -> None:
        missing = [name for name in WEIGHT_NAMES if name not in weights]
        if missing:
            raise RetrievalError(f"injection weights lack {missing}; retrain the module")
        self.config = config
        self.weights = {name: np.asarray(weights[name], dtype=np.float32) for name in WEIGHT_NAMES}
        expected = {
            "query_proj": (config.dimension, config.hidden),
            "key_proj": (config.dimension, config.hidden),
            "null_key": (config.hidden,),
            "value_down": (config.dimension, config.rank),
            "value_up": (config.rank, config.dimension),
            "gate_weight": (2 * config.dimension,),
            "gate_bias": (1,),
        }
        for name, shape in expected.items():
            if self.weights[name].shape != shape:
                raise RetrievalError(
                    f"injection weight {name} has shape {self.weights[name].shape}, the config "
                    f"says {shape}; the files do not belong together: retrain the module"
                )

    @property
    def text_encoder_id(self) -> str:
        return self.config.text_encoder_id

    def check_encoder(self, encoder_id: str) -> None:
        """Refuse query vectors from another text encoder than the one trained against."""
        if encoder_id != self.config.text_encoder_id:
            raise RetrievalError(
                f"the knowledge-injection module was trained against text encoder "
                f"{self.config.text_encoder_id!r}, but the configured one is {encoder_id!r}; "
                "retrain it with `shopkg train injection` or set SHOPKG_TEXT_ENCODER to match"
            )

    def inject(self, query: npt.ArrayLike, entries: npt.ArrayLike) -> Injected:
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        e = np.asarray(entries, dtype=np.float32).reshape(-1, q.shape[0])
        if q.shape[0] != self.config.dimension:
            raise RetrievalError(
                f"query vector has {q.shape[0]} dimensions, the module {self.config.dimension}"
            )
        e = e[: self.config.max_entries]
        if not len(e):
            return Injected(q, [], 0.0)
        w = self.weights
        scale = 1.0 / math.sqrt(self.config.hidden)
        projected = q @ w["query_proj"]
        scores = np.concatenate(
            [[projected @ w["null_key"]], (e @ w["key_proj"]) @ projected]
        ).astype(np.float64)
        scores *= scale
        attention = np.exp(scores - scores.max())
        attention /= attention.sum()
        values = e + (e @ w["value_down"]) @ w["value_up"]
        read = (attention[1:, None] * values).sum(axis=0)
        logit = float(np.concatenate([q, read]) @ w["gate_weight"] + w["gate_bias"][0])
        gate = 1.0 / (1.0 + math.exp(-logit))
        fused = q + gate * read
        norm = float(np.linalg.norm(fused))
        vector = (fused / max(norm, 1e-12)).astype(np.float32)
        return Injected(vector, [float(a) for a in attention[1:]], gate)

    # -- files ------------------------------------------------------------------------------
    def save(self, directory: Path) -> Path:
        from safetensors.numpy import save_file

        directory.mkdir(parents=True, exist_ok=True)
        save_file(dict(self.weights), str(directory / WEIGHTS_FILE))
        (directory / CONFIG_FILE).write_text(
            json.dumps(self.config.to_dict(), indent=2) + "\n", encoding="utf-8"
        )
        return directory

    @classmethod
    def load(cls, directory: Path, encoder_id: str | None = None) -> KnowledgeInjector:
        """The module in ``directory``; with ``encoder_id``, refused unless trained against it."""
        config_path = directory / CONFIG_FILE
        if not config_path.is_file():
            raise RetrievalError(
                f"no knowledge-injection module at {directory} (config.json missing); "
                "train one with `shopkg train injection`"
            )
        try:
            config = InjectionConfig.from_dict(json.loads(config_path.read_text()), config_path)
        except json.JSONDecodeError as e:
            raise RetrievalError(f"{config_path} is not valid JSON: {e}") from e
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        try:
            weights = load_file(str(directory / WEIGHTS_FILE))
        except (OSError, SafetensorError) as e:
            raise RetrievalError(
                f"cannot read {directory / WEIGHTS_FILE}: {e}; retrain with "
                "`shopkg train injection`"
            ) from e
        injector = cls(config, weights)
        if encoder_id is not None:
            injector.check_encoder(encoder_id)
        return injector


def model_dir(models_dir: Path) -> Path:
    """Where ``shopkg train injection`` saves the module and the searcher looks for it."""
    return models_dir / MODEL_DIR


def load_injector(models_dir: Path, encoder_id: str) -> KnowledgeInjector | None:
    """The trained module under ``models_dir``, or None when none was trained."""
    directory = model_dir(models_dir)
    if not (directory / CONFIG_FILE).is_file():
        return None
    return KnowledgeInjector.load(directory, encoder_id)


class EntryGlossary:
    """What the injection reads for a matched entry: ``"name: gloss"`` from the KG.

    The gloss is that of the ``Entry`` node that DEFINES the matched node (the build mines them
    for concepts and values from the catalog), looked up once per node; nodes without one say
    what kind of thing they are ("a brand", "a colour value").
    """

    def __init__(
        self, store: GraphStore | None = None, glosses: dict[tuple[str, str], str] | None = None
    ) -> None:
        self.store = store
        self._glosses: dict[tuple[str, str], str] = dict(glosses or {})

    def gloss(self, entry: DictionaryEntry) -> str:
        ref = (entry.label, entry.key)
        if ref not in self._glosses:
            self._glosses[ref] = self._lookup(entry)
        kind = (
            f"a {entry.attribute or 'product'} value"
            if entry.label == "Value"
            else LABEL_GLOSSES.get(entry.label, f"a {entry.label.lower()}")
        )
        found = self._glosses[ref]
        # a gloss that only repeats the name says nothing; an Entry shared by several values
        # (same name) may describe another attribute
        if found.strip().lower() in ("", entry.name.strip().lower()):
            return kind
        if entry.label == "Value" and not found.startswith(kind):
            return kind
        return found

    def _lookup(self, entry: DictionaryEntry) -> str:
        if self.store is None:
            return ""
        from kg import NodeRef

        defining = self.store.neighborhood(
            NodeRef(entry.label, entry.key),
            hops=1,
            limit=5,
            labels=["Entry"],
            relations=["DEFINES"],
            direction="in",
        )
        glosses = sorted(str(n.node.properties.get("gloss") or "") for n in defining)
        return next((g for g in glosses if g), "")

    def text(self, entry: DictionaryEntry) -> str:
        return f"{entry.name}: {self.gloss(entry)}"

    def texts(self, entries: Iterable[DictionaryEntry], limit: int) -> list[str]:
        """Texts of distinct entries in query order, at most ``limit``."""
        seen: dict[str, None] = {}
        for entry in entries:
            seen.setdefault(self.text(entry), None)
            if len(seen) >= limit:
                break
        return list(seen)


def distinct_entries(entities: Sequence[tuple[str, DictionaryEntry]]) -> list[DictionaryEntry]:
    """The matched entries of a parsed query, each once, in query order."""
    found: dict[tuple[str, str], DictionaryEntry] = {}
    for _, entry in entities:
        found.setdefault((entry.label, entry.key), entry)
    return list(found.values())

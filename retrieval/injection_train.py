"""Training the knowledge-injection module (:mod:`retrieval.injection`) with torch.

Each example is a query, the ``"name: gloss"`` texts of the KG entries it names and the item it
is about. Everything on the encoder side is frozen: query and entry vectors come from the text
encoder, item vectors from the ``item_text`` index (the text the dense channel searches), so
only the fusion learns. The loss is contrastive: the fused query against every item of the
catalog (or a sample of them plus the batch's positives on a large one), temperature-scaled.
Queries that name no entry pass through unchanged and teach nothing, so only the others are
trained on. A hash-selected share of the training queries is held out to pick the epoch.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from foundation.errors import RetrievalError
from foundation.text import SEARCH_TERMS, tokens
from retrieval.injection import InjectionConfig, KnowledgeInjector, initial_weights

if TYPE_CHECKING:
    from catalog.schema import CatalogRecord
    from retrieval.search import HybridSearcher


class LoadedCatalog(Protocol):
    """What training reads of a loaded assistant: its searcher and its catalog records."""

    @property
    def searcher(self) -> HybridSearcher: ...

    @property
    def records(self) -> Callable[[str], CatalogRecord | None]: ...


class JudgedQuery(Protocol):
    """A query with the keys of its relevant items (a relevance judgment)."""

    @property
    def query(self) -> str: ...

    @property
    def relevant(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class TrainingExample:
    query: str
    entries: tuple[str, ...]  # entry texts, query order
    item: str  # the key of the relevant item
    source: str = "query"  # where the query came from (judgments, catalog Q&A)


@dataclass(frozen=True)
class InjectionTrainingConfig:
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 1e-3
    temperature: float = 0.05
    max_negatives: int = 4096  # catalog items per batch as negatives (all, when fewer)
    validation_share: float = 0.2
    patience: int = 8  # epochs without a better validation loss before stopping
    seed: int = 0
    hidden: int = 64
    rank: int = 32
    max_entries: int = 8


@dataclass
class InjectionTrainingResult:
    injector: KnowledgeInjector
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def is_validation(query: str, share: float) -> bool:
    """A stable hash of the query text picks the held-out share."""
    digest = hashlib.sha256(("injection-validation/" + query).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def train_injection(
    examples: Sequence[TrainingExample],
    embed: Callable[[Sequence[str]], npt.NDArray[np.float32]],
    item_keys: Sequence[str],
    item_vectors: npt.NDArray[np.float32],
    encoder_id: str,
    config: InjectionTrainingConfig | None = None,
    *,
    meta: dict[str, Any] | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> InjectionTrainingResult:
    """Fit the fusion on ``examples``; the returned module holds the best validation epoch."""
    import torch

    config = config or InjectionTrainingConfig()
    index = {key: i for i, key in enumerate(item_keys)}
    usable = [e for e in examples if e.entries and e.item in index]
    if not usable:
        raise RetrievalError(
            "no training query names a KG entry and has its item in the catalog; the injection "
            "module has nothing to learn from (is the catalog built, are the queries about it?)"
        )
    validation = [e for e in usable if is_validation(e.query, config.validation_share)]
    train = [e for e in usable if not is_validation(e.query, config.validation_share)]
    if not train or not validation:
        train = validation = usable  # too few to hold any out: report the training loss
    dimension = int(item_vectors.shape[1])
    model_config = InjectionConfig(
        dimension=dimension,
        text_encoder_id=encoder_id,
        hidden=config.hidden,
        rank=config.rank,
        max_entries=config.max_entries,
    )
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    fusion = _fusion_module(model_config, initial_weights(model_config, config.seed))
    items = torch.from_numpy(np.ascontiguousarray(item_vectors, dtype=np.float32))
    train_batch = _tensors(train, embed, index, config.max_entries, dimension)
    valid_batch = _tensors(validation, embed, index, config.max_entries, dimension)
    optimizer = torch.optim.AdamW(
        fusion.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    with torch.no_grad():
        start = float(_loss(fusion, valid_batch, items, config.temperature, identity=True))
        initial = float(_loss(fusion, valid_batch, items, config.temperature))
    history: list[dict[str, float]] = []
    best = (initial, 0, fusion.state())  # epoch 0: the near-identity start
    for epoch in range(1, config.epochs + 1):
        fusion.train()
        order = torch.randperm(len(train), generator=generator)
        total = 0.0
        for begin in range(0, len(train), config.batch_size):
            rows = order[begin : begin + config.batch_size]
            batch = tuple(t[rows] for t in train_batch)
            negatives = _negatives(items, batch[3], config.max_negatives, generator)
            loss = _loss(fusion, batch, items, config.temperature, candidates=negatives)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(rows)
        fusion.eval()
        with torch.no_grad():
            valid = float(_loss(fusion, valid_batch, items, config.temperature))
            rank = _mean_reciprocal_rank(fusion, valid_batch, items)
        row = {
            "epoch": epoch,
            "train_loss": round(total / len(train), 4),
            "validation_loss": round(valid, 4),
            "validation_mrr": round(rank, 4),
            "gate_bias": round(float(fusion.weights["gate_bias"].item()), 4),
        }
        history.append(row)
        if on_epoch is not None:
            on_epoch(row)
        if valid < best[0] - 1e-4:
            best = (valid, epoch, fusion.state())
        elif epoch - best[1] >= config.patience:
            break
    with torch.no_grad():
        identity_mrr = _mean_reciprocal_rank(fusion, valid_batch, items, identity=True)
    counts = {
        "examples": len(examples),
        "with_entries": len(usable),
        "train": len(train),
        "validation": len(validation),
    }
    model_config = replace(
        model_config,
        meta={
            **(meta or {}),
            "counts": counts,
            "training": asdict(config),
            "best_epoch": best[1],
            "validation_loss_without_injection": round(start, 4),
            "validation_loss": round(best[0], 4),
            "validation_mrr_without_injection": round(identity_mrr, 4),
        },
    )
    injector = KnowledgeInjector(model_config, best[2])
    return InjectionTrainingResult(injector, history, best[1], counts)


def _tensors(
    examples: Sequence[TrainingExample],
    embed: Callable[[Sequence[str]], npt.NDArray[np.float32]],
    index: dict[str, int],
    max_entries: int,
    dimension: int,
) -> tuple[Any, Any, Any, Any]:
    """(queries [B,d], entries [B,n,d], entry mask [B,n], positive item rows [B])."""
    import torch

    queries = embed([e.query for e in examples])
    width = max(min(len(e.entries), max_entries) for e in examples)
    entries = np.zeros((len(examples), width, dimension), dtype=np.float32)
    mask = np.zeros((len(examples), width), dtype=bool)
    texts = sorted({t for e in examples for t in e.entries[:max_entries]})
    vectors = dict(zip(texts, embed(texts), strict=True))
    for row, example in enumerate(examples):
        for column, text in enumerate(example.entries[:max_entries]):
            entries[row, column] = vectors[text]
            mask[row, column] = True
    positives = np.asarray([index[e.item] for e in examples], dtype=np.int64)
    return (
        torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32)),
        torch.from_numpy(entries),
        torch.from_numpy(mask),
        torch.from_numpy(positives),
    )


def _negatives(items: Any, positives: Any, limit: int, generator: Any) -> Any:
    """Rows of ``items`` to score against: all, or a sample that keeps the positives."""
    import torch

    if len(items) <= limit:
        return None
    sample = torch.randperm(len(items), generator=generator)[:limit]
    return torch.unique(torch.cat([positives, sample]))


def _loss(
    fusion: Any,
    batch: tuple[Any, ...],
    items: Any,
    temperature: float,
    *,
    candidates: Any = None,
    identity: bool = False,
) -> Any:
    import torch

    queries, entries, mask, positives = batch
    fused = queries if identity else fusion(queries, entries, mask)
    if candidates is None:
        logits = fused @ items.T / temperature
        target = positives
    else:
        logits = fused @ items[candidates].T / temperature
        target = torch.searchsorted(candidates, positives)
    return torch.nn.functional.cross_entropy(logits, target)


def _mean_reciprocal_rank(
    fusion: Any, batch: tuple[Any, ...], items: Any, *, identity: bool = False
) -> float:
    queries, entries, mask, positives = batch
    fused = queries if identity else fusion(queries, entries, mask)
    scores = fused @ items.T
    own = scores.gather(1, positives[:, None])
    ranks = (scores > own).sum(dim=1) + 1
    return float((1.0 / ranks.float()).mean())


def _torch_fusion_class() -> type:
    import torch
    from torch import nn

    class TorchFusion(nn.Module):
        """The torch twin of :meth:`KnowledgeInjector.inject`, batched with an entry mask."""

        def __init__(self, config: InjectionConfig, weights: dict[str, Any]) -> None:
            super().__init__()
            self.hidden = config.hidden
            self.weights = nn.ParameterDict(
                {name: nn.Parameter(torch.tensor(np.array(v))) for name, v in weights.items()}
            )

        def forward(self, queries: Any, entries: Any, mask: Any) -> Any:
            w = self.weights
            scale = 1.0 / math.sqrt(self.hidden)
            projected = queries @ w["query_proj"]  # [B,h]
            keys = entries @ w["key_proj"]  # [B,n,h]
            scores = torch.einsum("bnh,bh->bn", keys, projected) * scale
            scores = scores.masked_fill(~mask, float("-inf"))
            null = (projected @ w["null_key"])[:, None] * scale
            attention = torch.softmax(torch.cat([null, scores], dim=1), dim=1)[:, 1:]
            values = entries + (entries @ w["value_down"]) @ w["value_up"]
            read = torch.einsum("bn,bnd->bd", attention, values)
            logit = torch.cat([queries, read], dim=1) @ w["gate_weight"] + w["gate_bias"]
            gate = torch.sigmoid(logit)[:, None]
            fused = queries + gate * read
            return torch.nn.functional.normalize(fused, dim=1)

        def state(self) -> dict[str, npt.NDArray[np.float32]]:
            return {
                name: p.detach().cpu().numpy().astype(np.float32).copy()
                for name, p in self.weights.items()
            }

    return TorchFusion


def _fusion_module(config: InjectionConfig, weights: dict[str, Any]) -> Any:
    return _torch_fusion_class()(config, weights)


# -- examples -------------------------------------------------------------------------------
def example_for(
    searcher: HybridSearcher, query: str, item: str, source: str
) -> TrainingExample | None:
    """The query as the dense channel sees it, with the texts of the entries it names."""
    from retrieval.injection import distinct_entries
    from retrieval.query import parse_query

    parsed = parse_query(query, searcher.dictionary)
    if not parsed.text.strip():
        return None
    texts = searcher.glossary.texts(distinct_entries(parsed.entities), MAX_ENTRIES)
    return TrainingExample(parsed.text, tuple(texts), item, source)


def catalog_questions(
    items: Sequence[str], records: Callable[[str], CatalogRecord | None]
) -> list[tuple[str, str]]:
    """``(question, item key)`` for every customer question in the catalog records."""
    found: list[tuple[str, str]] = []
    for key in items:
        record = records(key)
        if record is None:
            continue
        for pair in record.qa:
            if pair.question.strip():
                found.append((pair.question.strip(), key))
    return found


def near_duplicate(text: str, held_out: Sequence[frozenset[str]], threshold: float = 0.7) -> bool:
    """Whether ``text`` is (nearly) one of the held-out queries: word-set Jaccard ≥ threshold."""
    words = frozenset(tokens(text, SEARCH_TERMS))
    if not words:
        return False
    for other in held_out:
        union = len(words | other)
        if union and len(words & other) / union >= threshold:
            return True
    return False


def word_sets(texts: Sequence[str]) -> list[frozenset[str]]:
    return [frozenset(tokens(t, SEARCH_TERMS)) for t in texts]


MAX_ENTRIES = InjectionTrainingConfig().max_entries


def examples_from_catalog(
    assistant: LoadedCatalog,
    judged: Sequence[JudgedQuery],
    *,
    tuning_queries: Sequence[JudgedQuery] = (),
) -> tuple[list[TrainingExample], dict[str, int]]:
    """Training examples from the catalog's own customer questions (and judged queries).

    A customer question about an item is a query whose relevant item is that item: no
    relevance labels needed. Questions that (nearly) repeat any judged query are left out, so
    neither the dev half nor the half that tunes the fusion weights is seen in training.
    ``tuning_queries`` (judgments) are added as they are, when asked for.
    """
    searcher = assistant.searcher
    held_out = word_sets([j.query for j in judged])
    examples: list[TrainingExample] = []
    excluded = 0
    for question, key in catalog_questions(list(searcher.items), assistant.records):
        if near_duplicate(question, held_out):
            excluded += 1
            continue
        example = example_for(searcher, question, key, "catalog_qa")
        if example is not None:
            examples.append(example)
    for judgment in tuning_queries:
        for key in sorted(judgment.relevant):
            example = example_for(searcher, judgment.query, key, "judged_tuning_half")
            if example is not None:
                examples.append(example)
    counts = {
        "catalog_questions": sum(e.source == "catalog_qa" for e in examples),
        "judged_tuning_queries": sum(e.source == "judged_tuning_half" for e in examples),
        "excluded_near_duplicates_of_judged_queries": excluded,
    }
    return examples, counts

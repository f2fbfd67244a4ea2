"""Vector indexes (FAISS) over the KG's items, images and concepts; no torch imported here."""

from retrieval.vector_index import COLLECTIONS, Hit, IndexConfig, VectorIndex

__all__ = ["COLLECTIONS", "Hit", "IndexConfig", "VectorIndex"]

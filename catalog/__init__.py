"""The catalog: what a product record is and how records get in.

- :mod:`catalog.schema` — the record schema (pydantic) and its CSV forms;
- :mod:`catalog.readers` — readers that turn public data sets (grocery, ePQA, hetPQA) into
  records;
- :mod:`catalog.ingest` — validation, change detection and quarantine into the metadata DB;
- :mod:`catalog.demo` — the seeded demo catalog generator.

It stands on :mod:`foundation` only: no graph store, no models.
"""

"""A Kùzu graph indexed by an older ShopKG (Kùzu's English stemmer over words ShopKG did not
normalize) is re-indexed when opened: the lookups answer as on a new graph, and a second
open has nothing left to do."""

from __future__ import annotations

import json
from pathlib import Path

from kg import NodeRow, store_from_uri
from kg import kuzu_queries as q


def _make_old(path: Path) -> None:
    store = store_from_uri(f"kuzu://{path}").open()
    store.upsert(nodes=[NodeRow("Crowd", {"name": "kids"}), NodeRow("Crowd", {"name": "café"})])
    run = store._writer_run  # type: ignore[attr-defined]
    for label in ("Crowd", "Item"):
        run(q.drop_fts_index(label))
        run(
            f"CALL CREATE_FTS_INDEX('{label}', '{q.fts_index_name(label)}', ['search_text'], "
            "stemmer := 'english', stopWords := 'default')"
        )
    run("MATCH (c:Crowd) SET c.search_text = 'q' + c.name")  # the words as they were stored
    rows = run(q.READ_SCHEMA_VERSION)
    described = json.loads(rows[0][1])
    described.pop("index_text_scheme", None)  # written before index schemes existed
    run(q.WRITE_SCHEMA_VERSION, {"version": rows[0][0], "ontology": json.dumps(described)})
    store.close()


def test_an_older_index_is_rebuilt_on_open_and_answers_like_a_new_one(tmp_path: Path) -> None:
    _make_old(tmp_path / "graph")
    store = store_from_uri(f"kuzu://{tmp_path / 'graph'}").open()
    try:
        assert store.schema_report is not None
        applied = store.schema_report.applied
        assert any("DROP_FTS_INDEX('Crowd'" in s for s in applied)
        assert any("CREATE_FTS_INDEX('Crowd'" in s for s in applied)
        assert [h.node.key for h in store.lookup("kid")] == ["kids"]
        assert [h.node.key for h in store.lookup("cafe")] == ["café"]
    finally:
        store.close()
    again = store_from_uri(f"kuzu://{tmp_path / 'graph'}").open()
    try:
        assert again.schema_report is not None and again.schema_report.applied == ()
    finally:
        again.close()

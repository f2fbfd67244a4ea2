"""How fast the Neo4j driver turns ShopKG's write batches into Bolt messages, and results back.

Every relation the build writes to Neo4j goes out as one row of an ``UNWIND $rows`` parameter
(its start and end keys and its provenance properties), and every row a write reads back
(stored relations of a batch's items) comes in as one; the Python driver packs and unpacks
them with PackStream. This measures both on this CPU, with no server: the driver's Rust
extension (``neo4j-rust-ext``, a ShopKG dependency) against the driver's pure-Python codec,
each in its own process, in the same run.

    .venv/bin/python bench/bolt_codec_bench.py --rows 20000

The last line of stdout is one JSON object with both figures and their ratio.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any


def relation_rows(count: int) -> list[dict[str, Any]]:
    """Rows shaped like ``kg.neo4j_queries.create_relations``'s: an item's value relation."""
    return [
        {
            "start": f"demo-{i:06d}",
            "end": f"color=blue {i % 50}",
            "props": {
                "extractor": "shopkg.need_finder@1",
                "source": f"catalog#demo-{i:06d}",
                "confidence": 0.85,
                "raw": "Navy Blue",
                "start_char": 120 + i % 400,
            },
        }
        for i in range(count)
    ]


def measure(count: int, repeats: int) -> dict[str, Any]:
    """Pack and unpack ``count`` rows, best of ``repeats``, in this process's codec."""
    # the driver's own codec module (private, untyped): what its sessions use
    v1: Any = importlib.import_module("neo4j._codec.packstream.v1")
    params = {"rows": relation_rows(count)}
    pack = unpack = float("inf")
    for _ in range(repeats):
        buffer = v1.PackableBuffer()
        started = time.perf_counter()
        v1.Packer(buffer).pack(params)
        pack = min(pack, time.perf_counter() - started)
        incoming = v1.UnpackableBuffer(bytes(buffer.data))
        started = time.perf_counter()
        back = v1.Unpacker(incoming).unpack()
        unpack = min(unpack, time.perf_counter() - started)
        assert back == params, "the codec did not give the rows back"
    return {
        "codec": "rust" if v1._rust_pack is not None else "python",
        "rows": count,
        "bytes": len(buffer.data),
        "pack_rows_per_s": round(count / pack),
        "unpack_rows_per_s": round(count / unpack),
    }


def _in_process(count: int, repeats: int, pure: bool) -> dict[str, Any]:
    code = (
        "import sys, json\n"
        + ("sys.modules['neo4j._rust'] = None\n" if pure else "")  # the driver falls back
        + f"sys.path.insert(0, {sys.path[0]!r})\n"
        + "from bolt_codec_bench import measure\n"
        + f"print(json.dumps(measure({count}, {repeats})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    shipped = _in_process(args.rows, args.repeats, pure=False)
    python = _in_process(args.rows, args.repeats, pure=True)
    for found in (shipped, python):
        print(
            f"{found['codec']:>6}: pack {found['pack_rows_per_s']:>9,} rows/s, "
            f"unpack {found['unpack_rows_per_s']:>9,} rows/s ({found['bytes']:,} bytes)"
        )
    results = {
        "shipped": shipped,
        "pure_python": python,
        "pack_speedup": round(shipped["pack_rows_per_s"] / python["pack_rows_per_s"], 1),
        "unpack_speedup": round(shipped["unpack_rows_per_s"] / python["unpack_rows_per_s"], 1),
    }
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()

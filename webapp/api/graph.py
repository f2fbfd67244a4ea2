"""Public graph reads: a node with its relations and provenance, neighborhoods, lookup, stats."""

from __future__ import annotations

from foundation.errors import NotFoundError
from kg import NodeRef
from webapp.api import api, registry
from webapp.api.convert import node_id, node_out, plain, provenance_out
from webapp.api.schemas import (
    EdgeOut,
    ExtractorOut,
    ExtractorsOut,
    GraphNodeOut,
    GraphOut,
    LookupHitOut,
    LookupPage,
    LookupQuery,
    NeighborhoodQuery,
    NodeDetail,
    NodeQuery,
    RelationOut,
    StatsOut,
)
from webapp.services import services


@registry.route(
    api, "/graph/node", "GET", summary="A node, its relations and their provenance",
    tag="graph", response=NodeDetail, query=NodeQuery, errors=(404,),
)  # fmt: skip
def node(query: NodeQuery) -> NodeDetail:
    store = services().store
    ref = NodeRef(query.label, query.key)
    record = store.get_node(ref)
    if record is None:
        raise NotFoundError(f"no node {ref} in the graph")
    relations = store.relations_of(ref, extractor=query.extractor)
    page = relations[query.rel_offset : query.rel_offset + query.rel_limit]
    others = {r.end if r.start == ref else r.start for r in page}
    by_ref = {other: store.get_node(other) for other in others}
    out = []
    for rel in page:
        outgoing = rel.start == ref
        other = rel.end if outgoing else rel.start
        other_record = by_ref.get(other)
        out.append(
            RelationOut(
                type=rel.type,
                direction="out" if outgoing else "in",
                other=node_out(other_record) if other_record is not None else None,
                other_id=node_id(other.label, other.key),
                provenance=provenance_out(rel),
                properties=plain(rel.properties),
            )
        )
    end = query.rel_offset + len(page)
    sources = sorted({r.provenance.source for r in relations if r.provenance.source})
    return NodeDetail(
        node=node_out(record),
        relations=out,
        sources=sources,
        total=len(relations),
        limit=query.rel_limit,
        offset=query.rel_offset,
        next_offset=end if end < len(relations) else None,
    )


@registry.route(
    api, "/graph/neighborhood", "GET", summary="Nodes and relations around a node",
    tag="graph", response=GraphOut, query=NeighborhoodQuery, errors=(404,),
)  # fmt: skip
def neighborhood(query: NeighborhoodQuery) -> GraphOut:
    store = services().store
    ref = NodeRef(query.label, query.key)
    center = store.get_node(ref)
    if center is None:
        raise NotFoundError(f"no node {ref} in the graph")
    neighbors = store.neighborhood(
        ref,
        hops=query.hops,
        limit=query.limit,
        labels=query.labels,
        relations=query.relations,
        direction=query.direction,
        extractor=query.extractor,
    )
    nodes = [GraphNodeOut(**node_out(center).model_dump(), distance=0)]
    nodes += [GraphNodeOut(**node_out(n.node).model_dump(), distance=n.distance) for n in neighbors]
    refs = [ref, *(n.node.ref for n in neighbors)]
    graph = store.export_networkx(nodes=refs, relations=query.relations, extractor=query.extractor)
    edges = []
    for start, end, rel_type, data in graph.edges(keys=True, data=True):
        source, target = node_id(*start), node_id(*end)
        edges.append(
            EdgeOut(
                id=f"{source}-{rel_type}-{target}",
                type=rel_type,
                source=source,
                target=target,
                provenance={
                    "source": data.get("source") or "",
                    "extractor": data.get("extractor") or "",
                    "confidence": float(data.get("confidence") or 1.0),
                },
            )
        )
    return GraphOut(
        center=node_id(ref.label, ref.key),
        nodes=nodes,
        edges=edges,
        truncated=len(neighbors) >= query.limit,
    )


@registry.route(
    api, "/graph/extractors", "GET", summary="The extractors that asserted facts, and how many",
    tag="graph", response=ExtractorsOut,
)  # fmt: skip
def extractors() -> ExtractorsOut:
    found = services().store.extractors()
    return ExtractorsOut(
        extractors=[ExtractorOut(extractor=name, relations=n) for name, n in found.items()]
    )


@registry.route(
    api, "/graph/lookup", "GET", summary="Find nodes by name (full text)", tag="graph",
    response=LookupPage, query=LookupQuery,
)  # fmt: skip
def lookup(query: LookupQuery) -> LookupPage:
    found = services().store.lookup(
        query.q, labels=query.labels, limit=query.offset + query.limit + 1
    )
    page = found[query.offset : query.offset + query.limit]
    more = len(found) > query.offset + query.limit
    return LookupPage(
        query=query.q,
        hits=[LookupHitOut(node=node_out(h.node), score=h.score, exact=h.exact) for h in page],
        total=len(found) if not more else query.offset + query.limit + 1,
        limit=query.limit,
        offset=query.offset,
        next_offset=query.offset + query.limit if more else None,
    )


@registry.route(
    api, "/graph/stats", "GET", summary="Counts of nodes and relations by type", tag="graph",
    response=StatsOut,
)  # fmt: skip
def stats() -> StatsOut:
    found = services().store.stats()
    return StatsOut(
        backend=found.backend,
        schema_version=found.schema_version,
        nodes=dict(found.nodes),
        relations=dict(found.relations),
        total_nodes=found.total_nodes,
        total_relations=found.total_relations,
    )

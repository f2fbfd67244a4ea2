"""The API's request and response models. They validate requests and, through
:mod:`webapp.api.openapi`, are the OpenAPI document's schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from kg.ontology import SHOPKG_ONTOLOGY
from kg.validation import EXTRACTOR_FILTER, EXTRACTOR_FILTER_MAX

LABELS = SHOPKG_ONTOLOGY.labels
MAX_OFFSET = 1_000_000_000
RELATION_TYPES = SHOPKG_ONTOLOGY.relation_types


def _one_of(allowed: tuple[str, ...], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r}; use one of {', '.join(allowed)}")
        return value

    return AfterValidator(check)


Label = Annotated[
    str, _one_of(LABELS, "label"), WithJsonSchema({"type": "string", "enum": list(LABELS)})
]
RelationType = Annotated[
    str,
    _one_of(RELATION_TYPES, "relation type"),
    WithJsonSchema({"type": "string", "enum": list(RELATION_TYPES)}),
]
NodeKey = Annotated[str, Field(min_length=1, max_length=400)]
ExtractorParam = Annotated[
    str,
    Field(
        min_length=2,
        max_length=EXTRACTOR_FILTER_MAX,
        pattern=EXTRACTOR_FILTER.pattern,
        description="only the facts this extractor asserted: its name@version "
        "(shopkg.image_values@1), or its name and @ for every version (shopkg.image_values@)",
    ),
]
# SQLite hands back naive datetimes written in UTC; RFC 3339 needs the offset
UtcDatetime = Annotated[
    datetime, AfterValidator(lambda d: d if d.tzinfo is not None else d.replace(tzinfo=UTC))
]
Scalar = str | int | float | bool
PropertyValue = Scalar | list[str] | list[float] | None


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Page(Out):
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(None, description="offset of the next page; null at the end")


class ErrorBody(Out):
    status: int
    code: str = Field(description="stable ShopKG error code, e.g. E400 (not found)")
    message: str
    details: list[dict[str, Any]] = []


class ErrorResponse(Out):
    error: ErrorBody


# -- assistant ---------------------------------------------------------------------------
class SearchQuery(Query):
    q: str = Field(min_length=1, max_length=300, description="what the shopper typed")
    limit: int = Field(10, ge=1, le=50)
    offset: int = Field(0, ge=0, le=1000)


class HitOut(Out):
    key: str
    title: str
    price: float | None
    currency: str | None
    image: str | None
    image_url: str | None
    score: float
    channels: dict[str, float] = {}
    reasons: list[str] = []
    key_values: dict[str, str] = {}


class UnderstandingOut(Out):
    entities: list[dict[str, str]] = []
    constraints: dict[str, Any] = {}
    negations: list[str] = []
    stated: list[str] = []


class SearchPage(Page):
    query: str
    hits: list[HitOut]
    understanding: UnderstandingOut
    match: Literal["exact", "relaxed", "none"] = "exact"
    relaxed: list[str] = []
    weak: bool = False
    exact_total: int = Field(
        0,
        description="of total, the items meeting every constraint the query states (all "
        "of them when it states none); the rest rank after them",
    )


class CardValueOut(Out):
    attribute: str
    value: str
    origin: Literal["text", "photo"] = Field(
        description="text: the catalog record states it; photo: read from the item's photo"
    )
    extractor: str = Field(description="name@version of what asserted it")
    confidence: float


class ItemCardOut(Out):
    key: str
    title: str
    description: str
    price: float | None
    currency: str | None
    brand: str | None
    category: list[str]
    images: list[str]
    image_urls: list[str]
    attributes: dict[str, list[str]]
    pois: list[str]
    problems: list[str]
    scenes: list[str]
    crowds: list[str]
    qa: list[dict[str, str]]
    review_highlights: list[str]
    similar: list[HitOut]
    neighborhood: list[dict[str, Any]]
    values: list[CardValueOut] = Field(
        [],
        description="every attribute value with where it came from: the text's (as in "
        "attributes), then those read from the item's photos (not in attributes)",
    )


class AskBody(Body):
    question: str = Field(min_length=1, max_length=500)


class EvidenceOut(Out):
    text: str
    source: str
    ref: str
    score: float


class AnswerOut(Out):
    question: str
    text: str
    confidence: float
    abstained: bool
    evidence: list[EvidenceOut] = []


class TurnBody(Body):
    text: str = Field(min_length=1, max_length=1000)
    session_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{8,64}$")


class TurnOut(Out):
    session_id: str
    intent: str
    message: str
    hits: list[HitOut] = []
    card: ItemCardOut | None = None
    answer: AnswerOut | None = None
    reasons: list[str] = []
    compared: list[ItemCardOut] = []  # the items of a comparison, for a table


# -- graph -------------------------------------------------------------------------------
class NodeQuery(Query):
    label: Label
    key: NodeKey
    rel_limit: int = Field(100, ge=1, le=500, description="relations per page")
    rel_offset: int = Field(0, ge=0, le=MAX_OFFSET)
    extractor: ExtractorParam | None = None


class NeighborhoodQuery(Query):
    label: Label
    key: NodeKey
    hops: int = Field(1, ge=1, le=3)
    limit: int = Field(50, ge=1, le=200)
    labels: list[Label] | None = Field(None, description="only return nodes of these labels")
    relations: list[RelationType] | None = Field(None, description="only follow these relations")
    direction: Literal["out", "in", "both"] = "both"
    extractor: ExtractorParam | None = Field(
        None, description="only follow (and show) the relations this extractor asserted"
    )


class LookupQuery(Query):
    q: str = Field(min_length=1, max_length=200)
    labels: list[Label] | None = None
    limit: int = Field(10, ge=1, le=50)
    offset: int = Field(0, ge=0, le=500)


class NodeOut(Out):
    id: str = Field(description="'Label:key', unique in the graph")
    label: str
    key: str
    name: str
    properties: dict[str, Any]


class ProvenanceOut(Out):
    source: str
    extractor: str
    confidence: float


class RelationOut(Out):
    type: str
    direction: Literal["out", "in"]
    other: NodeOut | None
    other_id: str
    provenance: ProvenanceOut
    properties: dict[str, Any]


class NodeDetail(Page):
    node: NodeOut
    relations: list[RelationOut]
    sources: list[str] = Field(description="the Source records this node's facts came from")


class EdgeOut(Out):
    id: str
    type: str
    source: str
    target: str
    provenance: ProvenanceOut


class GraphNodeOut(NodeOut):
    distance: int


class GraphOut(Out):
    center: str
    nodes: list[GraphNodeOut]
    edges: list[EdgeOut]
    truncated: bool


class ExtractorOut(Out):
    extractor: str = Field(description="name@version")
    relations: int = Field(description="how many relations (facts) it asserted")


class ExtractorsOut(Out):
    extractors: list[ExtractorOut] = Field(description="every extractor with facts, by name")


class LookupHitOut(Out):
    node: NodeOut
    score: float
    exact: bool


class LookupPage(Page):
    query: str
    hits: list[LookupHitOut]


class StatsOut(Out):
    backend: str
    schema_version: int
    nodes: dict[str, int]
    relations: dict[str, int]
    total_nodes: int
    total_relations: int


class DegreeBucket(Out):
    degree: int
    count: int


class DegreesOut(Out):
    histogram: list[DegreeBucket]
    mean_by_label: dict[str, float]
    nodes_counted: int
    exact: bool = Field(description="false when the distribution comes from a sample")


# -- admin -------------------------------------------------------------------------------
class WhoAmI(Out):
    username: str


class EditNodeBody(Body):
    label: Label
    key: NodeKey
    set: dict[Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,63}$")], PropertyValue] = Field(
        min_length=1, max_length=50, description="properties to set (key fields cannot change)"
    )


class MergeBody(Body):
    label: Label
    keep: NodeKey
    duplicate: NodeKey


class NodeRefQuery(Query):
    label: Label
    key: NodeKey


class ChangeOut(Out):
    action: str
    audit_id: int
    report: dict[str, Any]
    node: NodeOut | None = None


class JobsQuery(Query):
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    status: Literal["pending", "running", "succeeded", "failed", "interrupted"] | None = None


class StageOut(Out):
    name: str
    position: int
    status: str
    total: int | None
    done: int
    skipped: int
    failed: int
    seconds: float | None
    progress: float | None = Field(description="share done (0..1) when the total is known")


class JobOut(Out):
    id: int
    kind: str
    status: str
    parameters: dict[str, Any]
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    seconds: float | None
    error: str | None
    summary: dict[str, Any]
    stages: list[StageOut]
    quarantined: int


class JobsPage(Page):
    jobs: list[JobOut]


class PageQuery(Query):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class QuarantinedOut(Out):
    id: int
    catalog: str
    record_key: str | None
    location: str
    stage: str
    reason: str
    raw: str
    created_at: UtcDatetime


class QuarantinePage(Page):
    job_id: int
    records: list[QuarantinedOut]


class RerunOut(Out):
    job: JobOut
    rerun_of: int
    audit_id: int
    note: str


class AuditOut(Out):
    id: int
    at: UtcDatetime
    actor: str
    action: str
    target_kind: str
    target_key: str
    details: dict[str, Any]


class AuditPage(Page):
    entries: list[AuditOut]


class OverrideOut(Out):
    id: int
    kind: Literal["edit", "merge", "delete"]
    label: str
    key: str
    properties: dict[str, Any] = Field(description="edit: the properties set")
    merge_into: str | None = Field(None, description="merge: the key of the node kept")
    actor: str
    at: UtcDatetime | None
    audit_id: int | None
    removed_at: UtcDatetime | None = Field(
        None, description="set once removed; the next build undoes the override"
    )
    removed_by: str | None = None


class OverridesQuery(PageQuery):
    removed: bool = Field(
        False, description="list the removed overrides the next build will undo instead"
    )


class OverridePage(Page):
    overrides: list[OverrideOut]


class OverrideRemovedOut(Out):
    override: OverrideOut
    audit_id: int
    note: str

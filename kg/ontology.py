"""The ShopKG ontology: every node type, relation type and property, defined once.

Kùzu DDL and Neo4j constraints/indexes are generated from :data:`SHOPKG_ONTOLOGY`; batches are
validated against it. To add a type or a property, add it here and bump :data:`SCHEMA_VERSION`:
opening an existing store migrates it in place (new tables, columns, endpoint pairs and indexes),
it never rebuilds.
"""

from __future__ import annotations

from kg.schema import NodeType, Ontology, Property, PropType, RelationType

SCHEMA_VERSION = 2  # 2: SOLVES also goes from an Item to a Problem, with its evidence

S, INT, D = PropType.STRING, PropType.INT64, PropType.DOUBLE
SL, DL = PropType.STRING_LIST, PropType.DOUBLE_LIST


def _vocabulary(label: str, doc: str, *extra: Property) -> NodeType:
    """A node named by a phrase ("waterproof", "wet feet"): keyed by its folded name."""
    return NodeType(
        label,
        (
            Property("name", S, "display form of the phrase", required=True),
            Property("aliases", SL, "other surface forms"),
            Property("description", S),
            *extra,
        ),
        key_fields=("name",),
        fold_key=True,
        search_fields=("name", "aliases"),
        doc=doc,
    )


ITEM = NodeType(
    "Item",
    (
        Property("name", S, "title"),
        Property("description", S),
        Property("price", D),
        Property("currency", S, "ISO 4217 code"),
        Property("url", S),
    ),
    search_fields=("name",),
    doc="A product offer; its key is the catalog's item id.",
)
CATEGORY = NodeType(
    "Category",
    (
        Property("name", S, required=True),
        Property("path", S, "full path from the root, e.g. 'Shoes > Boots'"),
        Property("depth", INT, "0 for a root"),
    ),
    search_fields=("name",),
    doc="A catalog category; the tree is IS_A from child to parent. Key: the catalog's id.",
)
BRAND = NodeType(
    "Brand",
    (Property("name", S, required=True), Property("aliases", SL)),
    key_fields=("name",),
    fold_key=True,
    search_fields=("name", "aliases"),
    doc="A brand, keyed by its folded name.",
)
VALUE = NodeType(
    "Value",
    (
        Property("attribute", S, "normalized attribute name, e.g. 'color'", required=True),
        Property("value", S, "normalized value, e.g. 'navy blue'", required=True),
        Property("unit", S, "unit of a measured value, '' when none"),
        Property("number", D, "numeric value, when the value is a measurement"),
        Property("name", S, "display form"),
    ),
    key_fields=("attribute", "value", "unit"),
    fold_key=True,
    search_fields=("attribute", "value"),
    doc="An attribute value; attribute names are open-ended, so values are nodes.",
)
POI = _vocabulary("POI", "A point of interest of an item: 'waterproof', 'breathable'.")
PROBLEM = _vocabulary("Problem", "A user problem or need: 'wet feet', 'back pain'.")
SCENE = _vocabulary("Scene", "A situation of use: 'rainy commute'.")
CROWD = _vocabulary("Crowd", "A group of users: 'toddlers', 'runners'.")
VISUAL_PROTOTYPE = (
    Property("image_count", INT, "number of images the prototype averages"),
    Property("spread", D, "mean distance of those images to the prototype"),
    Property("prototype", DL, "mean image embedding (L2-normalized)"),
    Property("prototype_encoder", S, "name@version of the image encoder of the prototype"),
)
"""A concept's visual prototype on its node; :mod:`kg.prototypes` computes it."""
CONCEPT = _vocabulary(
    "Concept",
    "A (fashion) concept with an is-a parent and a visual prototype of its images.",
    *VISUAL_PROTOTYPE,
)
IMAGE = NodeType(
    "Image",
    (
        Property("content_hash", S, "sha256 of the file bytes", required=True),
        Property("path", S, "where the file lies, relative to the image root"),
        Property("width", INT),
        Property("height", INT),
    ),
    key_fields=("content_hash",),
    doc="An image file, keyed by its content hash so copies collapse into one node.",
)
ENTRY = _vocabulary(
    "Entry",
    "A dictionary entry (what DictBERT retrieves): a term, its aliases and its gloss.",
    Property("gloss", S, "the definition text"),
)
SOURCE = NodeType(
    "Source",
    (
        Property("uri", S, "file or document the record is in"),
        Property("record_hash", S, "hash of the record's content"),
        Property("kind", S, "catalog, review, qa, dictionary, ..."),
    ),
    doc="A catalog record or document facts were extracted from; key: the record id.",
)

NODE_TYPES = (ITEM, CATEGORY, BRAND, VALUE, POI, PROBLEM, SCENE, CROWD, CONCEPT, IMAGE, ENTRY)
ALL_NODE_TYPES = (*NODE_TYPES, SOURCE)
_LABELS = tuple(n.label for n in NODE_TYPES)

RELATION_TYPES = (
    RelationType("IN_CATEGORY", (("Item", "Category"),)),
    RelationType("HAS_BRAND", (("Item", "Brand"),)),
    RelationType(
        "HAS_VALUE", (("Item", "Value"),), (Property("raw", S, "the text the value was read from"),)
    ),
    RelationType("HAS_POI", (("Item", "POI"),)),
    RelationType(
        "SOLVES",
        (("POI", "Problem"), ("Item", "Problem")),
        (
            Property(
                "evidence",
                S,
                "POI→Problem: 'sentence' (said together) or 'state' (the state the POI brings "
                "about); Item→Problem: 'text' (its own text) or 'concept' (its concept's items)",
            ),
            Property("poi", S, "the item's point of interest that solves it, when known"),
            Property("concept", S, "the concept whose items say that POI solves it"),
        ),
        doc="a point of interest solves a problem (somewhere: a record says so); an item "
        "solves a problem (its own text says so, or its concept's items say that a POI the item "
        "has solves it). Readers take an item's problems from Item SOLVES only: a POI is "
        "shared across categories ('waterproof' tents and boots), its problems are not",
    ),
    RelationType(
        "SUITS",
        (("Item", "Scene"), ("Item", "Crowd"), ("Concept", "Scene"), ("Concept", "Crowd")),
    ),
    RelationType("IS_A", (("Concept", "Concept"), ("Category", "Category")), doc="child to parent"),
    RelationType("HAS_IMAGE", (("Item", "Image"), ("Concept", "Image"))),
    RelationType("DEPICTS", (("Image", "Concept"),), (Property("score", D, "image-text score"),)),
    RelationType("MENTIONS", (("Item", "Concept"),)),
    RelationType(
        "SIMILAR_TO",
        tuple((label, label) for label in _LABELS),
        (Property("score", D, "similarity, higher is closer"),),
    ),
    RelationType("DEFINES", tuple(("Entry", label) for label in _LABELS)),
    RelationType("FROM_SOURCE", tuple((label, "Source") for label in _LABELS)),
)

SHOPKG_ONTOLOGY = Ontology(SCHEMA_VERSION, ALL_NODE_TYPES, RELATION_TYPES)
"""The ontology every store uses unless given another (immutable)."""

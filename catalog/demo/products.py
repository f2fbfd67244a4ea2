"""The demo catalog's departments and product types, each with its own attribute schema.

A product type is a concept of the demo KG ("trail running shoe"): it has a category path
(root first), a silhouette to draw, a price range, the attributes its items carry, and the
problems, scenes and crowds it suits (names from :mod:`catalog.demo.vocab`). The POIs an item can
have follow from its type's problems. Brands and model names are invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from catalog.demo.vocab import COLOURS, CROWDS, PROBLEMS, SCENES


@dataclass(frozen=True)
class Attribute:
    """One attribute of a product type: categorical ``values``, or ``numbers`` in ``unit``.

    ``kids_values`` replace ``values`` for kids' items (sizes). ``in_title`` puts the value in
    the title ("Size 10", "500 ml").
    """

    name: str
    values: tuple[str, ...] = ()
    unit: str | None = None
    numbers: tuple[float, ...] = ()
    kids_values: tuple[str, ...] = ()
    in_title: bool = False


@dataclass(frozen=True)
class ProductType:
    """A kind of product: the concept an item is, and what its items look like.

    ``audiences`` are the audiences its items are made for ("men", "women", "kids"; none for
    unisex types); ``grammar`` says how text refers to one item: ``one`` ("it is"), ``many``
    for plural names ("they are": earbuds, trousers) or ``mass`` ("granola", no article).
    """

    name: str
    category: tuple[str, ...]
    shape: str
    price: tuple[int, int]
    attributes: tuple[Attribute, ...]
    problems: tuple[str, ...]
    scenes: tuple[str, ...]
    crowds: tuple[str, ...]
    models: tuple[str, ...]
    audiences: tuple[str, ...] = ()
    grammar: str = "one"

    @cached_property
    def pois(self) -> tuple[str, ...]:
        """The POIs an item of this type may have: those that solve one of its problems."""
        seen = dict.fromkeys(poi for problem in self.problems for poi in PROBLEMS[problem].pois)
        return tuple(seen)


@dataclass(frozen=True)
class Department:
    """A root category with its own invented brands and product types."""

    name: str
    brands: tuple[str, ...]
    types: tuple[ProductType, ...]


def colour(*names: str) -> Attribute:
    return Attribute("colour", values=names or tuple(COLOURS), in_title=True)


def choice(name: str, *values: str, in_title: bool = False) -> Attribute:
    return Attribute(name, values=values, in_title=in_title)


def amount(name: str, unit: str, *numbers: float, in_title: bool = False) -> Attribute:
    return Attribute(name, unit=unit, numbers=numbers, in_title=in_title)


ADULT_KIDS = ("men", "women", "kids")
SHOE_SIZE = Attribute(
    "size",
    values=tuple(f"{n / 2:g}" for n in range(12, 27)),
    kids_values=("Youth 1", "Youth 2", "Youth 3", "Youth 4", "Youth 5"),
    in_title=True,
)
CLOTHING_SIZE = Attribute(
    "size",
    values=("XS", "S", "M", "L", "XL", "XXL"),
    kids_values=("4-5Y", "6-7Y", "8-9Y", "10-11Y", "12-13Y"),
    in_title=True,
)
DARK = ("black", "grey", "navy", "olive", "brown", "burgundy", "teal")
PHONES = ("Nova 12", "Nova 12 Pro", "Pixelite 8", "Orbit S5", "Orbit S5 Max", "Lumo X")

FOOTWEAR = Department(
    "Footwear",
    ("Stridewell", "Peakline", "Trailforge", "Kestrel & Co", "Northvale", "Soleva"),
    (
        ProductType(
            name="trail running shoe",
            category=("Footwear", "Running", "Trail Running Shoes"),
            shape="shoe",
            price=(79, 179),
            attributes=(
                colour(),
                SHOE_SIZE,
                choice("upper material", "mesh", "engineered knit", "synthetic"),
                amount("weight", "g", 240, 265, 290, 310, 340),
                choice("heel drop", "4 mm", "6 mm", "8 mm"),
            ),
            problems=(
                "wet feet",
                "slipping on wet ground",
                "blisters",
                "sore joints",
                "sweaty feet",
            ),
            scenes=("trail running", "hiking", "rainy commute"),
            crowds=("runners", "hikers", "dog walkers"),
            models=("Trail Runner", "Scree", "Ridgeback", "Fellrunner"),
            audiences=ADULT_KIDS,
        ),
        ProductType(
            name="road running shoe",
            category=("Footwear", "Running", "Road Running Shoes"),
            shape="shoe",
            price=(59, 169),
            attributes=(
                colour(),
                SHOE_SIZE,
                choice("upper material", "mesh", "engineered knit"),
                amount("weight", "g", 220, 245, 270, 295),
                choice("cushioning", "medium", "high", "max"),
            ),
            problems=(
                "sore joints",
                "sweaty feet",
                "blisters",
                "tired feet",
                "being unseen at night",
            ),
            scenes=("road running", "gym", "night run"),
            crowds=("runners", "athletes", "gym-goers"),
            models=("Tempo", "Glide", "Pacer", "Stride"),
            audiences=ADULT_KIDS,
        ),
        ProductType(
            name="hiking boot",
            category=("Footwear", "Outdoor", "Hiking Boots"),
            shape="boot",
            price=(89, 249),
            attributes=(
                colour(*DARK, "beige"),
                SHOE_SIZE,
                choice("material", "leather", "suede", "nubuck"),
                amount("weight", "g", 480, 560, 640, 720),
                choice("shaft height", "mid", "high"),
            ),
            problems=(
                "wet feet",
                "twisted ankles",
                "slipping on wet ground",
                "cold feet",
                "tired feet",
            ),
            scenes=("hiking", "backpacking", "snowy day"),
            crowds=("hikers", "backpackers", "dog walkers"),
            models=("Summit", "Cairn", "Highland", "Ranger"),
            audiences=ADULT_KIDS,
        ),
        ProductType(
            name="sport sandal",
            category=("Footwear", "Sandals", "Sport Sandals"),
            shape="sandal",
            price=(24, 89),
            attributes=(colour(), SHOE_SIZE, choice("material", "EVA", "rubber", "leather")),
            problems=("sweaty feet", "slipping on wet ground", "smelly feet", "tired feet"),
            scenes=("beach", "summer holiday", "festival"),
            crowds=("travellers", "kids", "festival-goers"),
            models=("Riverbed", "Shoreline", "Cove"),
            audiences=ADULT_KIDS,
        ),
        ProductType(
            name="winter boot",
            category=("Footwear", "Boots", "Winter Boots"),
            shape="boot",
            price=(69, 199),
            attributes=(
                colour(*DARK, "white"),
                SHOE_SIZE,
                choice("lining", "fleece", "faux fur", "wool"),
                Attribute("comfort rating", unit="°C", numbers=(-30, -20, -15, -10)),
            ),
            problems=("cold feet", "slipping on ice", "wet feet"),
            scenes=("snowy day", "winter commute", "school run"),
            crowds=("kids", "seniors", "commuters"),
            models=("Glacier", "Frostline", "Tundra"),
            audiences=ADULT_KIDS,
        ),
        ProductType(
            name="house slipper",
            category=("Footwear", "Slippers", "House Slippers"),
            shape="slipper",
            price=(15, 49),
            attributes=(colour(), SHOE_SIZE, choice("material", "wool felt", "fleece", "suede")),
            problems=("cold feet", "slipping on wet ground", "smelly feet"),
            scenes=("lounging at home", "bedtime"),
            crowds=("seniors", "kids", "remote workers"),
            models=("Hearth", "Snug", "Cosy"),
            audiences=ADULT_KIDS,
        ),
    ),
)

APPAREL = Department(
    "Apparel",
    ("Northvale", "Loomcraft", "Harbour Lane", "Fjeldwear", "Mistral", "Oakhaven"),
    (
        ProductType(
            name="rain jacket",
            category=("Apparel", "Outerwear", "Rain Jackets"),
            shape="jacket",
            price=(49, 249),
            attributes=(
                colour(),
                CLOTHING_SIZE,
                choice("material", "nylon", "polyester", "recycled polyester"),
                amount("weight", "g", 180, 240, 320, 410),
                choice("fit", "regular", "relaxed", "slim"),
            ),
            problems=("getting soaked", "wind chill", "overheating", "bulky gear"),
            scenes=("rainy commute", "hiking", "festival", "travel"),
            crowds=("commuters", "hikers", "cyclists"),
            models=("Downpour", "Squall", "Stormshell", "Drizzle"),
            audiences=ADULT_KIDS,
        ),
        ProductType(
            name="fleece jacket",
            category=("Apparel", "Outerwear", "Fleece Jackets"),
            shape="jacket",
            price=(35, 129),
            attributes=(
                colour(),
                CLOTHING_SIZE,
                choice("material", "polyester fleece", "recycled fleece"),
                choice("fleece weight", "100", "200", "300"),
            ),
            problems=("cold mornings", "bulky gear", "wind chill"),
            scenes=("camping", "hiking", "office"),
            crowds=("campers", "students", "dog walkers"),
            models=("Ember", "Hearthside", "Campfire"),
            audiences=ADULT_KIDS,
        ),
        ProductType(
            name="t-shirt",
            category=("Apparel", "Tops", "T-Shirts"),
            shape="tshirt",
            price=(12, 45),
            attributes=(
                colour(),
                CLOTHING_SIZE,
                choice("material", "cotton", "organic cotton", "merino wool", "polyester"),
                choice("pattern", "solid", "solid", "striped"),
                choice("fit", "regular", "slim"),
            ),
            problems=("sweat patches", "body odour", "sunburn"),
            scenes=("gym", "summer holiday", "everyday carry"),
            crowds=("runners", "students", "gym-goers"),
            models=("Everyday", "Essential", "Daybreak"),
            audiences=ADULT_KIDS,
        ),
        ProductType(
            name="summer dress",
            category=("Apparel", "Dresses", "Summer Dresses"),
            shape="dress",
            price=(29, 119),
            attributes=(
                colour(),
                CLOTHING_SIZE,
                choice("material", "linen", "cotton", "viscose"),
                choice("pattern", "solid", "polka dot", "striped"),
                choice("length", "mini", "midi", "maxi"),
            ),
            problems=("overheating", "creased clothes", "sunburn"),
            scenes=("summer holiday", "office", "beach"),
            crowds=("travellers", "office workers", "new parents"),
            models=("Riviera", "Meadow", "Solstice"),
            audiences=("women", "kids"),
        ),
        ProductType(
            name="hiking trousers",
            category=("Apparel", "Bottoms", "Hiking Trousers"),
            shape="trousers",
            price=(39, 139),
            attributes=(
                colour(*DARK, "beige"),
                CLOTHING_SIZE,
                choice("material", "nylon", "polyamide blend"),
                choice("inseam", "30 in", "32 in", "34 in"),
            ),
            problems=("restricted movement", "sunburn", "getting soaked", "sweat patches"),
            scenes=("hiking", "backpacking", "travel"),
            crowds=("hikers", "backpackers", "travellers"),
            models=("Traverse", "Switchback", "Scout"),
            audiences=ADULT_KIDS,
            grammar="many",
        ),
        ProductType(
            name="beanie",
            category=("Apparel", "Accessories", "Beanies"),
            shape="beanie",
            price=(12, 49),
            attributes=(
                colour(),
                choice("material", "merino wool", "acrylic", "cashmere blend"),
                choice("size", "one size", "one size", "kids"),
            ),
            problems=("cold mornings", "wind chill", "being unseen at night"),
            scenes=("winter commute", "snowy day", "night run"),
            crowds=("commuters", "runners", "kids"),
            models=("Ridge", "Frost", "Nordic"),
        ),
    ),
)

OUTDOOR = Department(
    "Outdoor",
    ("Trailforge", "Basecamp Co", "Wildreach", "Alpenglow", "Cedar & Pine", "Kestrel & Co"),
    (
        ProductType(
            name="tent",
            category=("Outdoor", "Camping", "Tents"),
            shape="tent",
            price=(79, 599),
            attributes=(
                colour("green", "orange", "olive", "grey", "blue", "yellow"),
                choice(
                    "capacity",
                    "1 person",
                    "2 person",
                    "3 person",
                    "4 person",
                    "6 person",
                    in_title=True,
                ),
                amount("weight", "kg", 1.2, 1.8, 2.6, 3.9, 5.5),
                choice("season", "3-season", "4-season"),
            ),
            problems=("leaking tent", "condensation", "heavy pack", "slow setup"),
            scenes=("camping", "backpacking", "festival"),
            crowds=("campers", "families", "festival-goers"),
            models=("Basecamp", "Skyline", "Hollow", "Meadow Dome"),
        ),
        ProductType(
            name="sleeping bag",
            category=("Outdoor", "Camping", "Sleeping Bags"),
            shape="sleeping_bag",
            price=(39, 399),
            attributes=(
                colour("green", "navy", "orange", "red", "blue", "grey"),
                choice("fill", "duck down", "synthetic"),
                Attribute("comfort rating", unit="°C", numbers=(-10, -5, 0, 5, 10), in_title=True),
                amount("weight", "g", 700, 950, 1200, 1600),
            ),
            problems=("cold nights", "heavy pack", "bulky gear"),
            scenes=("camping", "backpacking", "festival"),
            crowds=("campers", "kids", "backpackers"),
            models=("Nightfall", "Cocoon", "Starfield"),
        ),
        ProductType(
            name="hiking backpack",
            category=("Outdoor", "Bags", "Hiking Backpacks"),
            shape="backpack",
            price=(39, 279),
            attributes=(
                colour(),
                amount("volume", "L", 20, 30, 45, 65, in_title=True),
                choice("material", "ripstop nylon", "recycled polyester"),
                amount("weight", "kg", 0.8, 1.2, 1.9),
            ),
            problems=("back pain", "sweaty back", "soggy gear", "heavy pack"),
            scenes=("hiking", "travel", "school run"),
            crowds=("hikers", "students", "travellers"),
            models=("Daypack", "Trailhead", "Ascent", "Voyager"),
        ),
        ProductType(
            name="water bottle",
            category=("Outdoor", "Hydration", "Water Bottles"),
            shape="bottle",
            price=(9, 49),
            attributes=(
                colour(),
                amount("capacity", "ml", 350, 500, 750, 1000, in_title=True),
                choice("material", "stainless steel", "Tritan", "aluminium"),
            ),
            problems=("lukewarm drinks", "leaks in your bag", "plastic taste"),
            scenes=("gym", "hiking", "office", "school run"),
            crowds=("kids", "students", "athletes"),
            models=("Hydra", "Summit Flask", "Springwell"),
        ),
        ProductType(
            name="headlamp",
            category=("Outdoor", "Lighting", "Headlamps"),
            shape="headlamp",
            price=(15, 79),
            attributes=(
                colour("black", "red", "orange", "blue", "green"),
                amount("brightness", "lm", 200, 350, 500, 900),
                amount("battery life", "h", 5, 8, 12, 20),
            ),
            problems=("fumbling in the dark", "dead batteries", "being unseen at night"),
            scenes=("camping", "night run", "backpacking"),
            crowds=("runners", "campers", "dog walkers"),
            models=("Beacon", "Lumen", "Nightowl"),
        ),
    ),
)

HOME = Department(
    "Home",
    ("Oakhaven", "Hearth & Home", "Linden", "Copperleaf", "Stillwater", "Maple Row"),
    (
        ProductType(
            name="mug",
            category=("Home", "Kitchen", "Mugs"),
            shape="mug",
            price=(8, 35),
            attributes=(
                colour(),
                amount("capacity", "ml", 250, 350, 450, in_title=True),
                choice("material", "ceramic", "stoneware", "enamel", "double-wall glass"),
                choice("pattern", "solid", "solid", "polka dot", "striped"),
            ),
            problems=("coffee going cold", "washing up by hand", "chipped mugs"),
            scenes=("office", "morning coffee", "camping"),
            crowds=("coffee lovers", "office workers", "students"),
            models=("Morning", "Daybreak", "Cosy Cup"),
        ),
        ProductType(
            name="duvet",
            category=("Home", "Bedding", "Duvets"),
            shape="duvet",
            price=(39, 299),
            attributes=(
                colour("white", "beige", "grey", "sky blue"),
                choice("size", "Twin", "Full", "Queen", "King", in_title=True),
                choice("fill", "duck down", "microfibre", "wool"),
                choice("tog", "4.5", "10.5", "13.5"),
            ),
            problems=("night sweats", "allergies", "cold nights"),
            scenes=("bedtime",),
            crowds=("allergy sufferers", "families", "side sleepers"),
            models=("Cloudrest", "Nimbus", "Dreamweave"),
        ),
        ProductType(
            name="desk lamp",
            category=("Home", "Lighting", "Desk Lamps"),
            shape="desk_lamp",
            price=(19, 129),
            attributes=(
                colour("black", "white", "grey", "yellow", "green", "blue"),
                amount("power", "W", 5, 8, 12, 15),
                amount("brightness", "lm", 300, 500, 800),
                choice("material", "aluminium", "steel", "ABS plastic"),
            ),
            problems=("eye strain",),
            scenes=("office", "studying", "working from home"),
            crowds=("students", "office workers", "seniors"),
            models=("Focus", "Arc", "Studio"),
        ),
        ProductType(
            name="frying pan",
            category=("Home", "Kitchen", "Frying Pans"),
            shape="pan",
            price=(19, 149),
            attributes=(
                colour("black", "grey", "red", "blue"),
                amount("diameter", "cm", 20, 24, 28, 30, in_title=True),
                choice("material", "cast iron", "stainless steel", "aluminium"),
            ),
            problems=("food sticking", "toxic coatings"),
            scenes=("weeknight cooking", "camping"),
            crowds=("home cooks", "students", "families"),
            models=("Chef's", "Searline", "Everyday Skillet"),
        ),
        ProductType(
            name="pillow",
            category=("Home", "Bedding", "Pillows"),
            shape="pillow",
            price=(19, 99),
            attributes=(
                colour("white", "grey", "beige"),
                choice("fill", "memory foam", "microfibre", "feather"),
                choice("firmness", "soft", "medium", "firm"),
            ),
            problems=("neck pain", "allergies", "night sweats"),
            scenes=("bedtime", "travel"),
            crowds=("side sleepers", "allergy sufferers", "seniors"),
            models=("Contour", "Cloudrest", "Nimbus"),
        ),
        ProductType(
            name="office chair",
            category=("Home", "Furniture", "Office Chairs"),
            shape="chair",
            price=(89, 449),
            attributes=(
                colour("black", "grey", "navy", "white"),
                choice("material", "mesh", "fabric", "faux leather"),
                amount("max load", "kg", 110, 130, 150),
            ),
            problems=("back pain", "overheating"),
            scenes=("working from home", "office", "studying"),
            crowds=("remote workers", "office workers", "gamers"),
            models=("Ergo", "Posture", "Executive"),
        ),
    ),
)

GROCERY = Department(
    "Grocery",
    (
        "Good Morning Co",
        "Harvest Lane",
        "Little Orchard",
        "Roastery 41",
        "Greenfield",
        "Wildmeadow",
    ),
    (
        ProductType(
            name="coffee beans",
            category=("Grocery", "Coffee & Tea", "Coffee Beans"),
            shape="bag",
            price=(7, 29),
            attributes=(
                amount("weight", "g", 250, 500, 1000, in_title=True),
                choice("roast", "light", "medium", "dark"),
                choice("origin", "Colombia", "Ethiopia", "Brazil", "Guatemala", "house blend"),
            ),
            problems=("caffeine jitters", "ethical sourcing worries"),
            scenes=("morning coffee", "office", "busy morning"),
            crowds=("coffee lovers", "office workers", "students"),
            models=("Daybreak Roast", "Espresso", "Highland Blend"),
            grammar="many",
        ),
        ProductType(
            name="granola",
            category=("Grocery", "Breakfast", "Granola"),
            shape="box",
            price=(4, 12),
            attributes=(
                amount("weight", "g", 350, 500, 750, in_title=True),
                choice("flavour", "honey almond", "dark chocolate", "mixed berry", "maple pecan"),
            ),
            problems=("bloating from gluten", "sugar cravings", "hunger before lunch"),
            scenes=("busy morning", "hiking", "office"),
            crowds=("kids", "athletes", "families"),
            models=("Crunch", "Morning Oats", "Cluster"),
            grammar="mass",
        ),
        ProductType(
            name="herbal tea",
            category=("Grocery", "Coffee & Tea", "Tea"),
            shape="box",
            price=(3, 12),
            attributes=(
                choice("count", "20 bags", "40 bags", "80 bags", in_title=True),
                choice("flavour", "chamomile", "peppermint", "rooibos", "lemon ginger"),
            ),
            problems=("trouble sleeping", "caffeine jitters", "ethical sourcing worries"),
            scenes=("bedtime", "office", "morning coffee"),
            crowds=("tea drinkers", "new parents", "students"),
            models=("Calm", "Evening", "Garden"),
            grammar="mass",
        ),
        ProductType(
            name="protein bar",
            category=("Grocery", "Snacks", "Protein Bars"),
            shape="bar",
            price=(12, 35),
            attributes=(
                amount("weight", "g", 40, 45, 60, in_title=True),
                choice("count", "12 bars", "24 bars"),
                choice("flavour", "peanut butter", "chocolate brownie", "salted caramel", "berry"),
            ),
            problems=("sore muscles", "sugar cravings", "hunger before lunch"),
            scenes=("gym", "hiking", "office"),
            crowds=("athletes", "gym-goers", "hikers"),
            models=("Fuel", "Power", "Recover"),
        ),
        ProductType(
            name="peanut butter",
            category=("Grocery", "Pantry", "Nut Butters"),
            shape="jar",
            price=(3, 11),
            attributes=(
                amount("weight", "g", 340, 500, 1000, in_title=True),
                choice("texture", "smooth", "crunchy"),
            ),
            problems=("sugar cravings", "hunger before lunch", "ethical sourcing worries"),
            scenes=("busy morning", "hiking"),
            crowds=("kids", "athletes", "students"),
            models=("Classic", "Stone Ground", "Farmhouse"),
            grammar="mass",
        ),
    ),
)

ELECTRONICS = Department(
    "Electronics Accessories",
    ("Voltaic", "Ampere Labs", "Chargewell", "Sonique", "Gridline", "Helix"),
    (
        ProductType(
            name="phone case",
            category=("Electronics Accessories", "Phone Accessories", "Phone Cases"),
            shape="phone",
            price=(9, 49),
            attributes=(
                colour(),
                choice("compatible model", *PHONES, in_title=True),
                choice("material", "silicone", "TPU", "leather", "polycarbonate"),
            ),
            problems=("cracked screen", "scratches"),
            scenes=("everyday carry", "hiking", "travel"),
            crowds=("teens", "students", "kids"),
            models=("Armor", "Slim", "Shield", "Grip"),
        ),
        ProductType(
            name="screen protector",
            category=("Electronics Accessories", "Phone Accessories", "Screen Protectors"),
            shape="screen",
            price=(6, 25),
            attributes=(
                choice("compatible model", *PHONES, in_title=True),
                choice("count", "1 pack", "2 pack", "3 pack"),
            ),
            problems=("cracked screen", "scratches", "fingerprints"),
            scenes=("everyday carry", "travel"),
            crowds=("teens", "students", "commuters"),
            models=("Clear", "Guard", "Glass"),
        ),
        ProductType(
            name="USB-C charger",
            category=("Electronics Accessories", "Chargers", "Wall Chargers"),
            shape="charger",
            price=(12, 69),
            attributes=(
                colour("white", "black", "grey"),
                amount("power", "W", 20, 30, 45, 65, 100, in_title=True),
                choice("ports", "1", "2", "3"),
            ),
            problems=("slow charging", "charger clutter", "overheating devices"),
            scenes=("travel", "office", "bedtime"),
            crowds=("travellers", "students", "office workers"),
            models=("Nano", "Duo", "Pro"),
        ),
        ProductType(
            name="wireless earbuds",
            category=("Electronics Accessories", "Audio", "Wireless Earbuds"),
            shape="earbuds",
            price=(19, 199),
            attributes=(
                colour("black", "white", "navy", "pink", "green"),
                amount("battery life", "h", 5, 6, 8, 10),
                choice("bluetooth version", "5.2", "5.3", "5.4"),
            ),
            problems=("noisy commutes", "earbuds falling out", "sweat damage", "dead battery"),
            scenes=("gym", "rainy commute", "flight"),
            crowds=("runners", "commuters", "students"),
            models=("Pulse", "Echo", "Air"),
            grammar="many",
        ),
        ProductType(
            name="power bank",
            category=("Electronics Accessories", "Chargers", "Power Banks"),
            shape="powerbank",
            price=(15, 79),
            attributes=(
                colour("black", "white", "blue", "pink"),
                amount("capacity", "mAh", 5000, 10000, 20000, in_title=True),
                amount("weight", "g", 120, 210, 380),
            ),
            problems=("dead battery", "slow charging"),
            scenes=("travel", "festival", "camping"),
            crowds=("travellers", "festival-goers", "students"),
            models=("Reserve", "Boost", "Charge Pack"),
        ),
        ProductType(
            name="USB-C cable",
            category=("Electronics Accessories", "Cables", "USB-C Cables"),
            shape="cable",
            price=(6, 25),
            attributes=(
                colour("black", "white", "grey", "red", "blue"),
                amount("length", "m", 0.5, 1, 2, in_title=True),
                choice("connector", "USB-C to USB-C", "USB-A to USB-C"),
            ),
            problems=("frayed cables", "slow charging"),
            scenes=("everyday carry", "office", "travel"),
            crowds=("students", "office workers", "gamers"),
            models=("Braid", "Link", "Flex"),
        ),
    ),
)
DEPARTMENTS: tuple[Department, ...] = (FOOTWEAR, APPAREL, OUTDOOR, HOME, GROCERY, ELECTRONICS)


def check_vocabulary() -> None:
    """Fail loudly when a product type names a problem, scene, crowd or colour that is unknown."""
    for department in DEPARTMENTS:
        for kind in department.types:
            unknown = (
                [p for p in kind.problems if p not in PROBLEMS]
                + [s for s in kind.scenes if s not in SCENES]
                + [c for c in kind.crowds if c not in CROWDS]
                + [
                    c
                    for a in kind.attributes
                    if a.name == "colour"
                    for c in a.values
                    if c not in COLOURS
                ]
            )
            if unknown:
                raise ValueError(f"product type {kind.name!r} names unknown concepts: {unknown}")

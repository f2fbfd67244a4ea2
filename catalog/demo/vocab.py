"""The demo catalog's concept vocabularies: POIs, the problems they solve, scenes, crowds,
colours and units.

These are the AliMe-style concepts the generator wires into each synthetic product, so that
descriptions, reviews and Q&A mention them consistently and the ground truth says which ones
an item really has. A POI only ever appears together with a problem it solves (see
:data:`PROBLEMS`); product types (in :mod:`catalog.demo.products`) list the problems, scenes and
crowds they suit. Everything here is invented for the demo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """A user problem or need, the POIs that solve it, and how the text says it is solved.

    ``benefit`` is a verb phrase in the base form ("keep your feet dry"); templates inflect it.
    A ``situational`` problem happens somewhere (wet feet on a rainy commute), so text may place
    it in a scene; sourcing worries or allergies are not tied to one.
    """

    name: str
    pois: tuple[str, ...]
    benefit: str
    situational: bool = True


@dataclass(frozen=True)
class Scene:
    """A usage scene: ``at`` reads after a clause ("on rainy commutes"), ``for_`` after "for"."""

    name: str
    at: str
    for_: str


# POI name -> the feature that gives it, as a noun phrase with its article where it takes one
# ("a waterproof membrane", "BPA-free materials"); text says "its waterproof membrane" too.
POIS: dict[str, str] = {
    "waterproof": "a waterproof membrane",
    "water-resistant": "a water-resistant finish",
    "breathable": "a breathable fabric",
    "windproof": "a windproof shell",
    "non-slip": "a non-slip grip",
    "cushioned": "a cushioned midsole",
    "arch support": "contoured arch support",
    "seamless": "a seamless lining",
    "quick-dry": "a quick-dry fabric",
    "odour-resistant": "an odour-resistant treatment",
    "insulated": "an insulated build",
    "lightweight": "a lightweight design",
    "packable": "a packable design",
    "UV protection": "UPF 50 sun protection",
    "stretch": "four-way stretch",
    "wrinkle-resistant": "a wrinkle-resistant weave",
    "ventilated": "ventilated panels",
    "quick setup": "a colour-coded quick setup",
    "ankle support": "a padded ankle collar",
    "ergonomic": "an ergonomic shape",
    "padded hip belt": "a padded hip belt",
    "leak-proof": "a leak-proof lid",
    "BPA-free": "BPA-free materials",
    "rechargeable": "a USB-C rechargeable battery",
    "hands-free": "an adjustable head strap",
    "dishwasher safe": "a dishwasher-safe finish",
    "chip-resistant": "a chip-resistant glaze",
    "hypoallergenic": "hypoallergenic fill",
    "temperature regulating": "a temperature-regulating cover",
    "dimmable": "a stepless dimmer",
    "flicker-free": "flicker-free LEDs",
    "non-stick": "a non-stick coating",
    "PFOA-free": "a PFOA-free coating",
    "memory foam": "a memory foam core",
    "lumbar support": "adjustable lumbar support",
    "organic": "certified organic ingredients",
    "fair trade": "fair trade sourcing",
    "decaf": "Swiss water decaffeination",
    "gluten-free": "a gluten-free recipe",
    "high protein": "a high protein recipe",
    "low sugar": "a low sugar recipe",
    "caffeine-free": "a caffeine-free blend",
    "drop-proof": "drop-proof corners",
    "scratch-resistant": "a scratch-resistant coating",
    "fast charging": "fast charging support",
    "multi-port": "multiple ports",
    "overheat protection": "overheat protection",
    "noise cancelling": "active noise cancelling",
    "sweat-resistant": "a sweat-resistant housing",
    "secure fit": "secure-fit ear wings",
    "long battery life": "a long-life battery",
    "braided": "a braided nylon jacket",
    "tempered glass": "a tempered glass layer",
    "oleophobic": "an oleophobic coating",
    "reflective": "reflective details",
}

_PROBLEM_ROWS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("wet feet", ("waterproof", "water-resistant"), "keep your feet dry"),
    ("slipping on wet ground", ("non-slip",), "keep you sure-footed on slick ground"),
    ("slipping on ice", ("non-slip",), "grip on icy pavements"),
    ("blisters", ("seamless", "cushioned"), "prevent blisters"),
    ("sore joints", ("cushioned",), "soften the impact on your joints"),
    ("sweaty feet", ("breathable",), "keep your feet cool and fresh"),
    ("tired feet", ("arch support", "cushioned"), "keep your feet comfortable all day"),
    ("twisted ankles", ("ankle support",), "steady your ankles on rough ground"),
    ("cold feet", ("insulated",), "keep your toes warm"),
    ("smelly feet", ("odour-resistant",), "stop odours building up"),
    ("getting soaked", ("waterproof", "water-resistant"), "keep you dry in a downpour"),
    ("wind chill", ("windproof",), "block biting wind"),
    ("overheating", ("breathable", "ventilated"), "let heat escape"),
    ("bulky gear", ("packable", "lightweight"), "pack down small"),
    ("sunburn", ("UV protection",), "shield your skin from the sun"),
    ("restricted movement", ("stretch",), "move with you"),
    ("creased clothes", ("wrinkle-resistant",), "come out of a bag looking fresh"),
    ("sweat patches", ("quick-dry", "breathable"), "wick sweat away"),
    ("body odour", ("odour-resistant",), "stay fresh for longer"),
    ("cold mornings", ("insulated",), "keep you warm when it's chilly"),
    ("leaking tent", ("waterproof",), "keep the rain out"),
    ("condensation", ("ventilated",), "cut down condensation"),
    ("heavy pack", ("lightweight",), "lighten your load"),
    ("slow setup", ("quick setup",), "go up in minutes"),
    ("cold nights", ("insulated",), "keep you warm on cold nights"),
    (
        "back pain",
        ("ergonomic", "padded hip belt", "lumbar support"),
        "take the strain off your back",
    ),
    ("sweaty back", ("ventilated",), "keep air moving across your back"),
    ("soggy gear", ("water-resistant", "waterproof"), "keep your gear dry"),
    ("lukewarm drinks", ("insulated",), "keep drinks ice-cold for hours"),
    ("leaks in your bag", ("leak-proof",), "stop spills in your bag"),
    ("plastic taste", ("BPA-free",), "keep water tasting clean"),
    ("fumbling in the dark", ("hands-free",), "light your way hands-free"),
    ("dead batteries", ("rechargeable",), "recharge from any USB port"),
    ("being unseen at night", ("reflective",), "make you visible to traffic"),
    ("coffee going cold", ("insulated",), "keep coffee hot to the last sip"),
    ("washing up by hand", ("dishwasher safe",), "go straight in the dishwasher"),
    ("chipped mugs", ("chip-resistant",), "survive everyday knocks"),
    ("night sweats", ("temperature regulating", "breathable"), "keep you at the right temperature"),
    ("allergies", ("hypoallergenic",), "keep allergens at bay"),
    ("eye strain", ("flicker-free", "dimmable"), "go easy on your eyes"),
    ("food sticking", ("non-stick",), "release food without scrubbing"),
    ("toxic coatings", ("PFOA-free",), "cook without harmful chemicals"),
    ("neck pain", ("memory foam", "ergonomic"), "support your neck through the night"),
    ("caffeine jitters", ("decaf", "caffeine-free"), "let you enjoy a cup without the jitters"),
    ("trouble sleeping", ("caffeine-free",), "help you unwind before bed"),
    ("bloating from gluten", ("gluten-free",), "suit a gluten-free diet"),
    ("sugar cravings", ("low sugar", "high protein"), "curb sugar cravings"),
    ("hunger before lunch", ("high protein",), "keep you full until lunch"),
    ("sore muscles", ("high protein",), "help your muscles recover"),
    ("ethical sourcing worries", ("fair trade", "organic"), "support growers fairly"),
    ("cracked screen", ("drop-proof", "tempered glass"), "protect your screen from drops"),
    ("scratches", ("scratch-resistant", "tempered glass"), "keep your phone scratch-free"),
    ("fingerprints", ("oleophobic",), "wipe clean of fingerprints"),
    ("slow charging", ("fast charging",), "top up your battery fast"),
    ("dead battery", ("fast charging", "long battery life"), "keep your devices going"),
    ("charger clutter", ("multi-port",), "charge several devices at once"),
    ("overheating devices", ("overheat protection",), "stay cool while charging"),
    ("noisy commutes", ("noise cancelling",), "shut out the noise"),
    ("earbuds falling out", ("secure fit",), "stay put while you move"),
    ("sweat damage", ("sweat-resistant",), "shrug off sweat and rain"),
    ("frayed cables", ("braided",), "resist fraying"),
)

_NOT_SITUATIONAL = {
    "ethical sourcing worries",
    "toxic coatings",
    "bloating from gluten",
    "allergies",
    "plastic taste",
    "scratches",
    "fingerprints",
    "frayed cables",
}

PROBLEMS: dict[str, Problem] = {
    name: Problem(name, pois, benefit, situational=name not in _NOT_SITUATIONAL)
    for name, pois, benefit in _PROBLEM_ROWS
}

_SCENE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("rainy commute", "on rainy commutes", "rainy commutes"),
    ("trail running", "on the trails", "trail runs"),
    ("road running", "on long road runs", "road running"),
    ("hiking", "on the hiking trail", "day hikes"),
    ("backpacking", "on multi-day treks", "backpacking trips"),
    ("camping", "at the campsite", "camping trips"),
    ("festival", "at music festivals", "festival weekends"),
    ("beach", "at the beach", "beach days"),
    ("summer holiday", "on summer holidays", "summer holidays"),
    ("snowy day", "on snowy days", "snowy days"),
    ("winter commute", "on winter commutes", "winter commutes"),
    ("gym", "at the gym", "gym sessions"),
    ("office", "at the office", "office days"),
    ("working from home", "in a home office", "working from home"),
    ("studying", "during late-night study sessions", "study sessions"),
    ("travel", "on the road", "travel"),
    ("flight", "on long flights", "long flights"),
    ("lounging at home", "around the house", "lazy days at home"),
    ("night run", "on night runs", "night runs"),
    ("morning coffee", "with your morning coffee", "slow mornings"),
    ("busy morning", "on busy mornings", "busy mornings"),
    ("weeknight cooking", "for weeknight dinners", "weeknight cooking"),
    ("bedtime", "at bedtime", "a good night's sleep"),
    ("everyday carry", "every day", "everyday use"),
    ("school run", "on the school run", "the school run"),
)

SCENES: dict[str, Scene] = {name: Scene(name, at, for_) for name, at, for_ in _SCENE_ROWS}

# crowds are plural nouns that read naturally after "for" and "among"
CROWDS: tuple[str, ...] = (
    "runners",
    "hikers",
    "backpackers",
    "commuters",
    "cyclists",
    "campers",
    "families",
    "kids",
    "teens",
    "students",
    "seniors",
    "travellers",
    "office workers",
    "remote workers",
    "gym-goers",
    "coffee lovers",
    "tea drinkers",
    "home cooks",
    "new parents",
    "athletes",
    "side sleepers",
    "allergy sufferers",
    "gamers",
    "festival-goers",
    "dog walkers",
)


@dataclass(frozen=True)
class Colour:
    """A colour name, its RGB for the drawn images, and the other spellings catalogs use."""

    name: str
    rgb: tuple[int, int, int]
    spellings: tuple[str, ...] = ()


COLOURS: dict[str, Colour] = {
    c.name: c
    for c in (
        Colour("black", (28, 28, 30)),
        Colour("white", (240, 240, 236), ("off-white",)),
        Colour("grey", (128, 130, 134), ("gray",)),
        Colour("navy", (24, 38, 92), ("navy blue",)),
        Colour("blue", (38, 98, 200), ("royal blue",)),
        Colour("sky blue", (120, 180, 230), ("light blue",)),
        Colour("teal", (20, 130, 130)),
        Colour("green", (40, 150, 70)),
        Colour("olive", (110, 120, 50), ("olive green",)),
        Colour("yellow", (240, 200, 40), ("mustard",)),
        Colour("orange", (240, 120, 30)),
        Colour("red", (200, 35, 40), ("scarlet",)),
        Colour("burgundy", (120, 25, 45), ("wine",)),
        Colour("pink", (235, 130, 170), ("rose",)),
        Colour("purple", (120, 60, 160), ("violet",)),
        Colour("brown", (115, 75, 45), ("chocolate",)),
        Colour("beige", (215, 195, 160), ("sand",)),
    )
}


def _g(value: float) -> str:
    return f"{value:g}"


# unit -> ways a catalog writes a quantity given in that unit; the first is the canonical form
UNIT_FORMS: dict[str, tuple[Callable[[float], str], ...]] = {
    "ml": (
        lambda v: f"{_g(v)} ml",
        lambda v: f"{_g(v)}ml",
        lambda v: f"{_g(v)} mL",
        lambda v: f"{_g(v / 1000)} L",
    ),
    "L": (lambda v: f"{_g(v)} L", lambda v: f"{_g(v)}L", lambda v: f"{_g(v)} litres"),
    "g": (
        lambda v: f"{_g(v)} g",
        lambda v: f"{_g(v)}g",
        lambda v: f"{_g(v)} grams",
        lambda v: f"{_g(v / 1000)} kg" if v >= 200 else f"{_g(v)} g",
    ),
    "kg": (lambda v: f"{_g(v)} kg", lambda v: f"{_g(v)}kg", lambda v: f"{_g(v * 1000)} g"),
    "W": (lambda v: f"{_g(v)} W", lambda v: f"{_g(v)}W", lambda v: f"{_g(v)} watts"),
    "mAh": (lambda v: f"{_g(v)} mAh", lambda v: f"{v:,.0f} mAh", lambda v: f"{_g(v)}mAh"),
    "cm": (
        lambda v: f"{_g(v)} cm",
        lambda v: f"{_g(v)}cm",
        lambda v: f"{_g(v * 10)} mm",
        lambda v: f"{_g(v / 100)} m" if v >= 100 else f"{_g(v)} cm",
    ),
    "m": (lambda v: f"{_g(v)} m", lambda v: f"{_g(v)}m", lambda v: f"{_g(v * 100)} cm"),
    "mm": (lambda v: f"{_g(v)} mm", lambda v: f"{_g(v)}mm"),
    "°C": (
        lambda v: f"{_g(v)} °C",
        lambda v: f"{_g(v)}°C",
        lambda v: f"{_g(v)} C",
        lambda v: f"{_g(v * 9 / 5 + 32)} °F",
    ),
    "h": (lambda v: f"{_g(v)} h", lambda v: f"{_g(v)} hours", lambda v: f"{_g(v)}h"),
    "lm": (lambda v: f"{_g(v)} lm", lambda v: f"{_g(v)} lumens"),
}

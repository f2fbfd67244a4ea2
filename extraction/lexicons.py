"""Seed lexicons for points of interest, problems, scenes and crowds.

These are the words patterns need to decide what a phrase is ("for toddlers" names a crowd,
"for rainy commutes" a scene); they are seeds, not answers: :meth:`NeedLexicon.extended` adds
every POI, Problem, Scene and Crowd name the KG already holds, so the lexicon grows with the
graph. Heads are singular; phrases are matched by their last word.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


POI_SEEDS = _words(
    "waterproof water-resistant water-repellent windproof breathable lightweight durable "
    "non-slip anti-slip slip-resistant quick-dry moisture-wicking odor-resistant insulated "
    "cushioned padded adjustable foldable portable rechargeable wireless cordless washable "
    "machine-washable dishwasher-safe bpa-free hypoallergenic fragrance-free organic "
    "non-toxic stain-resistant scratch-resistant shockproof dustproof leakproof leak-proof "
    "ergonomic compact stretchy soft warm long-lasting fast-charging noise-cancelling "
    "uv-protection sun-protection anti-fog reusable eco-friendly gluten-free sugar-free"
)
POI_SUFFIXES = ("proof", "resistant", "free", "repellent", "wicking", "safe", "slip", "dry")

PROBLEM_HEADS = _words(
    "pain ache aches odor odour sweat blister blisters fatigue dryness itch itching acne "
    "wrinkle wrinkles stain stains spill spills leak leaks slip slips fall falls injury "
    "injuries clutter mess frizz dandruff insomnia stress allergy allergies rash irritation "
    "swelling cold heat damage breakage noise glare dust bacteria germs mold mould smell "
    "wear tear discomfort foot knee back neck joint muscle skin hair feet"
)

SCENE_HEADS = _words(
    "commute commuting trip travel traveling travelling hike hiking camping camp run "
    "running workout gym yoga office work school party wedding beach pool outdoor outdoors "
    "garden gardening kitchen cooking bathroom bedroom home house picnic vacation holiday "
    "festival concert weekend day night weather rain snow winter summer spring autumn fall "
    "season sport sports fishing cycling biking climbing skiing swimming driving flight "
    "shower sleep bedtime meeting game games morning mornings evening evenings session "
    "sessions campsite trail trails trek treks road dinner dinners lunch breakfast"
)

CROWD_HEADS = _words(
    "kid kids child children toddler toddlers baby babies infant infants teen teens "
    "teenager teenagers man men woman women boy boys girl girls adult adults senior seniors "
    "elderly student students runner runners hiker hikers athlete athletes beginner "
    "beginners professional professionals mom moms mother mothers dad dads parent parents "
    "nurse nurses chef chefs gamer gamers traveler travelers traveller travellers "
    "cyclist cyclists angler anglers pet pets dog dogs cat cats owner owners family "
    "families everyone lady ladies gentleman gentlemen worker workers walker walkers "
    "sleeper sleepers sufferer sufferers lover lovers drinker drinkers goer goers cook cooks "
    "commuter commuters camper campers backpacker backpackers climber climbers swimmer "
    "swimmers skier skiers golfer golfers"
)

# "keeps your feet dry" → the problem is the opposite state: "wet feet"
STATE_ANTONYMS = {
    "dry": "wet",
    "warm": "cold",
    "cool": "hot",
    "clean": "dirty",
    "fresh": "smelly",
    "comfortable": "sore",
    "safe": "unsafe",
    "organized": "cluttered",
    "organised": "cluttered",
    "hydrated": "dehydrated",
    "protected": "unprotected",
    "quiet": "noisy",
    "secure": "loose",
    "smooth": "rough",
    "soft": "rough",
    "cold": "warm",
}

# a state a POI brings about: which POI most plausibly solves "wet …", "cold …"
STATE_SOLVERS = {
    "wet": ("waterproof", "water-resistant", "quick-dry", "water-repellent"),
    "cold": ("insulated", "warm", "windproof"),
    "hot": ("breathable", "moisture-wicking", "lightweight"),
    "smelly": ("odor-resistant", "breathable"),
    "sore": ("cushioned", "padded", "ergonomic", "soft"),
    "sweat": ("moisture-wicking", "breathable", "quick-dry"),
    "slip": ("non-slip", "anti-slip", "slip-resistant"),
}

TRIGGERS_PROBLEM = _words(
    "prevent prevents preventing avoid avoids relieve relieves relieving reduce reduces "
    "reducing eliminate eliminates eliminating fight fights fighting soothe soothes stop "
    "stops combat combats ease eases alleviate alleviates banish banishes"
)
TRIGGERS_SUIT = _words(
    "perfect ideal great suitable designed made best good recommended popular favourite favorite"
)
STOPWORDS = frozenset(
    _words(
        "a an the your you yours my our their his her its this that these those and or but with "
        "without for on in at to of by from during while as is are be it into than then so very "
        "more most all any some each every no not also just only up down out over under about "
        "after before will can could would should may might must"  # "its ports will help"
    )
)


@dataclass(frozen=True)
class NeedLexicon:
    """Words that make a phrase a POI, Problem, Scene or Crowd."""

    poi: frozenset[str] = field(default_factory=lambda: frozenset(POI_SEEDS))
    problem_heads: frozenset[str] = field(default_factory=lambda: frozenset(PROBLEM_HEADS))
    scene_heads: frozenset[str] = field(default_factory=lambda: frozenset(SCENE_HEADS))
    crowd_heads: frozenset[str] = field(default_factory=lambda: frozenset(CROWD_HEADS))
    problems: frozenset[str] = frozenset()
    scenes: frozenset[str] = frozenset()
    crowds: frozenset[str] = frozenset()

    def extended(self, entries: Iterable[tuple[str, str]]) -> NeedLexicon:
        """A lexicon that also knows the KG's ``(label, name)`` pairs of these four labels."""
        names: dict[str, set[str]] = {
            "POI": set(),
            "Problem": set(),
            "Scene": set(),
            "Crowd": set(),
        }
        for label, name in entries:
            if label in names and name.strip():
                names[label].add(" ".join(name.lower().split()))
        return replace(
            self,
            poi=self.poi | names["POI"],
            problems=self.problems | names["Problem"],
            scenes=self.scenes | names["Scene"],
            crowds=self.crowds | names["Crowd"],
        )

    def kind_of(self, phrase: str) -> str | None:
        """``"Scene"``, ``"Crowd"`` or None for a lowercased phrase, by lexicon or head word."""
        if phrase in self.scenes:
            return "Scene"
        if phrase in self.crowds:
            return "Crowd"
        last = phrase.rsplit(" ", 1)[-1].rsplit("-", 1)[-1]  # "gym-goers": goers
        if last in self.crowd_heads:
            return "Crowd"
        head = singular(last)
        if head in self.crowd_heads:
            return "Crowd"
        if head in self.scene_heads:
            return "Scene"
        return None


def singular(word: str) -> str:
    """A plural English noun's singular by suffix rules (``shoes`` → ``shoe``, ``gym-goers`` →
    ``gym-goer``); else the word."""
    if "-" in word:
        head, _, last = word.rpartition("-")
        return f"{head}-{singular(last)}"
    if len(word) <= 3 or not word.isalpha() or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "zes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def singular_phrase(phrase: str) -> str:
    """The phrase with its last word made singular."""
    head, _, last = phrase.rpartition(" ")
    return f"{head} {singular(last)}".strip()

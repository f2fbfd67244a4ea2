"""The words of a generated demo item: title, description and bullets.

Each relation of the demo KG has several phrasings picked at random, so the same fact (a
waterproof membrane keeps feet dry on rainy commutes) reads differently from item to item and
an extractor has to learn the relation, not one template. All text comes from a :class:`Draft`,
the facts already decided for the item, so it never says anything untrue of it. Reviews and
Q&A are in :mod:`catalog.demo.reviews`.

Generation must reach thousands of items a second, so templates are filled with
``str.format_map`` from one dict of the item's phrases, and phrases that depend only on the
vocabulary are computed once and cached.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from catalog.demo.products import ProductType
from catalog.demo.vocab import POIS, PROBLEMS, SCENES

T = TypeVar("T")

AUDIENCE_LABELS = {"men": "Men's", "women": "Women's", "kids": "Kids'"}
AUDIENCE_VALUES = {"men": "Men", "women": "Women", "kids": "Kids"}


def pick(rng: random.Random, options: Sequence[T]) -> T:
    """One of ``options`` (like ``rng.choice``, at a third of the cost)."""
    return options[int(rng.random() * len(options))]


def shuffled(rng: random.Random, items: Sequence[T]) -> list[T]:
    """``items`` in random order (cheaper than ``rng.shuffle``)."""
    pool = list(items)
    return [pool.pop(int(rng.random() * len(pool))) for _ in range(len(pool))]


def some(rng: random.Random, options: Sequence[T], most: int) -> list[T]:
    """One to ``most`` different ``options`` in random order (cheaper than ``rng.sample``)."""
    pool = list(options)
    count = 1 + int(rng.random() * min(most, len(pool)))
    return [pool.pop(int(rng.random() * len(pool))) for _ in range(count)]


@dataclass(frozen=True)
class Draft:
    """The facts of one item before it is written out.

    ``values`` are canonical attribute values; ``surfaces`` the way this item's record writes
    each of them ("0.5 L" for "500 ml"); ``solves`` maps each POI to the problem it solves here.
    """

    kind: ProductType
    brand: str
    model: str
    audience: str | None
    values: dict[str, str]
    surfaces: dict[str, str]
    pois: tuple[str, ...]
    solves: dict[str, str]
    scenes: tuple[str, ...]
    crowds: tuple[str, ...]


def inflect(phrase: str, third: bool) -> str:
    """``phrase`` (a verb phrase in the base form) with its verb in the third person singular."""
    if not third:
        return phrase
    verb, _, rest = phrase.partition(" ")
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        verb = verb[:-1] + "ies"
    elif verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        verb += "es"
    else:
        verb += "s"
    return f"{verb} {rest}" if rest else verb


def indefinite(noun: str, grammar: str = "one") -> str:
    """``noun`` with "a"/"an" when it is one countable thing; plural and mass nouns go bare."""
    if grammar != "one":
        return noun
    vowel = noun[:1].lower() in "aeio" or (noun[:1] == "u" and not noun.startswith(("us", "uni")))
    return f"{'an' if vowel else 'a'} {noun}"


def bare(feature: str) -> str:
    """A POI feature without its article, to follow "its" or "the"."""
    for article in ("a ", "an "):
        if feature.startswith(article):
            return feature[len(article) :]
    return feature


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


@cache
def title_case(text: str) -> str:
    """Every word capitalised, the rest kept ("USB-C charger" → "USB-C Charger", "BPA-Free")."""
    return " ".join("-".join(capital(part) for part in word.split("-")) for word in text.split(" "))


@cache
def wording(grammar: str) -> dict[str, str]:
    """How a sentence refers to the item: "this shoe … it is", "these earbuds … they are"."""
    if grammar == "many":
        forms = ("these", "they", "their", "them", "are", "have", "do", "don't", "come")
    else:
        forms = ("this", "it", "its", "it", "is", "has", "does", "doesn't", "comes")
    names = ("this", "it", "its", "them", "is", "has", "does", "does_not", "comes")
    words = dict(zip(names, forms, strict=True))
    for name in ("this", "it", "its", "is", "does"):
        words[capital(name)] = capital(words[name])
    return words


@cache
def poi_phrases(poi: str, problem: str, third: bool) -> dict[str, str]:
    """The phrases a template needs to say that ``poi`` solves ``problem`` (do not mutate)."""
    benefit = PROBLEMS[problem].benefit
    return {
        "poi": poi,
        "feature": POIS[poi],
        "feature_bare": bare(POIS[poi]),
        "problem": problem,
        "Problem": capital(problem),
        "benefit": benefit,
        "benefit_v": inflect(benefit, third),
        "benefit_s": inflect(benefit, True),
    }


def phrases(draft: Draft) -> dict[str, str]:
    """The item's phrase dict every template is filled from; callers update the varying keys."""
    kind = draft.kind
    fields = dict(wording(kind.grammar))
    fields.update(
        brand=draft.brand,
        model=draft.model,
        kind=kind.name,
        a_kind=indefinite(kind.name, kind.grammar),
    )
    return fields


def place(rng: random.Random, draft: Draft, situational: bool) -> str:
    """Where a problem bites, as " on rainy commutes", or "" (problems need not say where)."""
    if situational and rng.random() < 0.7:
        return " " + SCENES[pick(rng, draft.scenes)].at
    return ""


def make_title(rng: random.Random, draft: Draft) -> str:
    kind = draft.kind
    extras: list[str] = []
    if draft.audience:
        extras.append(AUDIENCE_LABELS[draft.audience])
    for attribute in kind.attributes:
        if attribute.in_title and attribute.name in draft.surfaces:
            value = draft.surfaces[attribute.name]
            extras.append(f"Size {value}" if attribute.name == "size" else value)
    poi = f" {title_case(pick(rng, draft.pois))}" if draft.pois and rng.random() < 0.7 else ""
    name = title_case(kind.name)
    style = rng.random()
    if style < 0.6:
        return ", ".join([f"{draft.brand} {draft.model}{poi} {name}", *extras])
    if style < 0.85:
        return f"{draft.brand} {draft.model}{poi} {name} - " + " - ".join(extras or [draft.brand])
    return f"{name} by {draft.brand}, {draft.model}{poi}" + "".join(f" | {e}" for e in extras)


_POI_SENTENCES = (
    "Thanks to {its} {feature_bare}, {it} {benefit_v}{at}.",
    "No more {problem}{at}: {it} {comes} with {feature}.",
    "Tired of {problem}? {This} {kind} {benefit_v}{at}, thanks to {feature}.",
    "Built with {feature} to {benefit}{at}.",
    "With {feature}, {it} {benefit_v}{at}.",
    "If you struggle with {problem}{at}, {its} {feature_bare} will help {benefit}.",
)
_INTROS = (
    "The {brand} {model} {kind} {is} made for {scene_for}.",
    "Meet the {model}, {a_kind} from {brand} for {crowd}.",
    "{This} {kind} from {brand} {benefit_v}.",
    "{brand} designed the {model} {kind} for {crowd} who are tired of {problem}.",
)
_SCENE_SENTENCES = (
    "Ideal for {scene_for}.",
    "A great pick {scene_at}.",
    "Perfect for {scene_for} and everyday use.",
    "Just as happy {scene_at} as anywhere else.",
)
_CROWD_SENTENCES = (
    "Designed with {crowd} in mind.",
    "A favourite among {crowd}.",
    "Popular with {crowd}.",
    "Great for {crowd}.",
)
_VALUE_SENTENCES = {
    "colour": ("Available in {value}.", "Shown here in {value}."),
    "material": ("Made of {value}.", "Crafted from {value}."),
    "upper material": ("The upper is {value}.",),
    "weight": ("Weighs just {value}.", "Weight: {value}."),
    "capacity": ("Holds {value}.", "Capacity: {value}."),
    "volume": ("{value} of room for your gear.",),
    "power": ("Delivers up to {value}.",),
    "brightness": ("Puts out up to {value}.",),
    "battery life": ("Up to {value} on a single charge.",),
    "length": ("{value} long.",),
    "diameter": ("{value} across.",),
}
_GENERIC_VALUE_SENTENCES = ("{Name}: {value}.", "{Name} – {value}.")


def make_description(rng: random.Random, draft: Draft, fields: dict[str, str]) -> str:
    """A few sentences: an intro, one per POI (what problem it solves, where), a scene, a
    crowd, and one or two attribute values. ``fields`` is the item's :func:`phrases` dict."""
    third = draft.kind.grammar != "many"
    scene = SCENES[pick(rng, draft.scenes)]
    fields["scene_for"], fields["scene_at"] = scene.for_, scene.at
    fields["crowd"] = pick(rng, draft.crowds)
    first = draft.pois[0]
    fields.update(poi_phrases(first, draft.solves[first], third))
    sentences = [pick(rng, _INTROS).format_map(fields)]
    body: list[str] = []
    for poi in draft.pois:
        problem = draft.solves[poi]
        fields.update(poi_phrases(poi, problem, third))
        fields["at"] = place(rng, draft, PROBLEMS[problem].situational)
        body.append(pick(rng, _POI_SENTENCES).format_map(fields))
    body.append(pick(rng, _SCENE_SENTENCES).format_map(fields))
    body.append(pick(rng, _CROWD_SENTENCES).format_map(fields))
    names = list(draft.surfaces)
    for _ in range(2):
        name = pick(rng, names)
        template = pick(rng, _VALUE_SENTENCES.get(name, _GENERIC_VALUE_SENTENCES))
        body.append(capital(template.format(value=draft.surfaces[name], Name=capital(name))))
    sentences.extend(dict.fromkeys(shuffled(rng, body)))
    return " ".join(sentences)


def make_bullets(rng: random.Random, draft: Draft) -> list[str]:
    """Three to six bullet points in one of three house styles."""
    style = int(rng.random() * 3)
    bullets: list[str] = []
    for poi in draft.pois:
        said = poi_phrases(poi, draft.solves[poi], True)
        if style == 0:
            bullets.append(f"{poi.upper()}: {said['benefit_s']}")
        elif style == 1:
            bullets.append(f"{title_case(poi)} – {said['benefit_s']}")
        else:
            bullets.append(capital(f"{said['feature_bare']} to {said['benefit']}"))
    for name in list(draft.surfaces)[:3]:
        label = name.upper() if style == 0 else capital(name)
        bullets.append(f"{label}: {draft.surfaces[name]}")
    scene = SCENES[pick(rng, draft.scenes)]
    bullets.append(f"Ideal for {scene.for_} and {pick(rng, draft.crowds)}")
    return bullets[:6]

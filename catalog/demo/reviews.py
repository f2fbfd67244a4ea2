"""Reviews and customer Q&A of a generated demo item.

Every review talks about one problem the item is meant to solve and says whether it did; the
star rating follows the item's hidden quality, and the wording follows the rating, so ratings
and "solved / not solved" statements correlate as they do in real reviews. Q&A asks about the
item's listed attributes, POIs and scenes and answers from the item's own record.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from catalog.demo.text import Draft, capital, pick, place, poi_phrases, wording
from catalog.demo.vocab import POIS, PROBLEMS, SCENES

SOLVED, PARTLY, NOT_SOLVED = "solved", "partly", "not solved"

_REVIEWS = {
    SOLVED: (
        "No more {problem}! {It} really {benefit_v}{at}.",
        "Bought {this} {kind} for {scene_for} and {it} {benefit_v}.",
        "{Problem} used to be a pain{at}. Not any more.",
        "Finally something that helps with {problem}.",
        "I had {problem} all the time{at}; since switching to {this} {kind} that's gone.",
    ),
    PARTLY: (
        "Helps a little with {problem}, but not as much as I hoped.",
        "Okay{at}, though {it} only partly fixed my {problem} problem.",
        "Decent for the price, but don't expect miracles with {problem}.",
    ),
    NOT_SOLVED: (
        "Did not help with {problem} at all.",
        "So much for the {feature_bare}: {it} {does_not} {benefit}{at}.",
        "Returned {them} after a week; {it} did nothing for {problem}.",
        "Still dealing with {problem}{at}. Disappointed.",
    ),
}
_EXTRAS = {
    SOLVED: ("Perfect for {crowd} like me.", "Would buy again.", "Great value.", "{Fact}"),
    PARTLY: ("{Fact}", "Arrived quickly.", "It's fine."),
    NOT_SOLVED: ("Not worth the money.", "{Fact}", "Customer service was slow."),
}
_ANSWERS = ("{value}.", "It's {value}.", "The {name} is {value}.", "{value}, as listed.")
_QUESTIONS = {
    "colour": ("What colour {is} {it}?", "Which colour is this one?"),
    "size": ("What size is this?", "Which size is pictured?"),
    "material": ("What {is} {it} made of?", "What material {is} {it}?"),
    "weight": ("How heavy {is} {it}?", "How much {does} {it} weigh?"),
    "capacity": ("How much {does} {it} hold?", "What is the capacity?"),
    "power": ("How many watts {is} {it}?", "What is the wattage?"),
    "audience": ("Who {is} {it} for?", "Is this the men's, women's or kids' version?"),
}
_GENERIC_QUESTIONS = ("What is the {name}?", "Can you tell me the {name}?")


def rating_for(rng: random.Random, quality: float) -> int:
    """A star rating around ``1 + 4 * quality``, with the spread real reviews have."""
    spread = (rng.random() + rng.random() + rng.random() - 1.5) * 1.6
    return max(1, min(5, round(1 + 4 * quality + spread)))


def make_reviews(
    rng: random.Random, draft: Draft, fields: dict[str, str], quality: float, count: int
) -> tuple[list[dict[str, object]], list[tuple[str, str]]]:
    """``count`` reviews as record dicts, and per review (problem, verdict) for the truth.

    ``fields`` is the item's :func:`catalog.demo.text.phrases` dict, with the scene and crowd
    :func:`catalog.demo.text.make_description` picked.
    """
    third = draft.kind.grammar != "many"
    solvers = {draft.solves[poi]: poi for poi in draft.pois}
    problems = sorted(solvers)
    names = list(draft.surfaces)
    reviews: list[dict[str, object]] = []
    claims: list[tuple[str, str]] = []
    for _ in range(count):
        rating = rating_for(rng, quality)
        verdict = SOLVED if rating >= 4 else PARTLY if rating == 3 else NOT_SOLVED
        problem = pick(rng, problems)
        fields.update(poi_phrases(solvers[problem], problem, third))
        fields["at"] = place(rng, draft, PROBLEMS[problem].situational)
        text = pick(rng, _REVIEWS[verdict]).format_map(fields)
        extra = rng.random()
        if extra < 0.5:
            name = pick(rng, names)
            fields["Fact"] = f"The {name} is {draft.surfaces[name]}, as described."
            more = pick(rng, _EXTRAS[verdict]).format_map(fields)
            text = f"{text} {more}" if extra < 0.3 else f"{more} {text}"
        if rng.random() < 0.05:
            text = text.lower()
        review: dict[str, object] = {"text": text}
        if rng.random() > 0.07:
            review["rating"] = rating
        reviews.append(review)
        claims.append((problem, verdict))
    return reviews, claims


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def make_qa(
    rng: random.Random,
    draft: Draft,
    attributes: Mapping[str, object],
    listed: dict[str, str],
    count: int,
) -> list[dict[str, str]]:
    """``count`` question-answer pairs about listed attributes, POIs and scenes (repeats dropped).

    ``attributes`` is the record's own attribute dict and ``listed`` maps canonical names to
    its keys, so every attribute answer quotes the record.
    """
    words = wording(draft.kind.grammar)
    it, does, is_, does_cap, is_cap = (words[w] for w in ("it", "does", "is", "Does", "Is"))
    missing = [poi for poi in draft.kind.pois if poi not in draft.pois]
    names = sorted(listed)
    pairs: dict[str, str] = {}
    for _ in range(count):
        topic = rng.random()
        if topic < 0.55 and names:
            name = pick(rng, names)
            question = pick(rng, _QUESTIONS.get(name, _GENERIC_QUESTIONS))
            question = question.format(name=name, it=it, does=does, **{"is": is_})
            value = _shown(attributes[listed[name]])
            answer = capital(pick(rng, _ANSWERS).format(value=value, name=name))
        elif topic < 0.75 or not missing:
            poi = pick(rng, draft.pois)
            said = poi_phrases(poi, draft.solves[poi], draft.kind.grammar != "many")
            question = f"{does_cap} {it} have {said['feature']}?"
            if rng.random() < 0.5:
                answer = f"Yes, {it} {words['has']} {said['feature']}."
            else:
                answer = f"Yes, {it} {said['benefit_v']}."
        elif topic < 0.9:
            feature = POIS[pick(rng, missing)]
            question = f"{does_cap} {it} have {feature}?"
            answer = f"No, {it} {words['does_not']} have {feature}."
        else:
            scene = SCENES[pick(rng, draft.scenes)]
            question = f"{is_cap} {it} good for {scene.for_}?"
            answer = f"Yes, {it} {is_} made for {scene.for_}."
        pairs.setdefault(question, answer)
    return [{"question": question, "answer": answer} for question, answer in pairs.items()]

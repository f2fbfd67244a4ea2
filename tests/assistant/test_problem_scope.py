"""A problem reaches an item only through facts that hold for it: its own text, or its
concept's POI; never a POI shared with other categories ("waterproof" tents and boots).

Built from demo items chosen so the trap is there: waterproof hiking boots beside tents and
backpacks whose text says their waterproofing ends a "leaking tent" or "soggy gear"."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.loader import build_assistant
from catalog.demo.items import make_item
from foundation.settings import Settings, load_settings
from jobs.build import BuildPlan, run_build

OTHERS = 30  # the first demo items, whatever they are
PER_TRAP = 4  # items of each kind below


def _chosen() -> list[int]:
    """The first OTHERS items, and PER_TRAP waterproof hiking boots, waterproof tents that
    end a leaking tent and waterproof backpacks that end soggy gear."""
    traps = {
        "hiking boot": "wet feet",
        "tent": "leaking tent",
        "hiking backpack": "soggy gear",
    }
    found: dict[str, list[int]] = {kind: [] for kind in traps}
    index = OTHERS
    while any(len(v) < PER_TRAP for v in found.values()):
        truth = make_item(index, 0).truth
        picked = found.get(truth.concept, [])
        wanted = traps.get(truth.concept)
        if len(picked) < PER_TRAP and "waterproof" in truth.pois and wanted in truth.problems:
            picked.append(index)
        index += 1
    return [*range(OTHERS), *(i for v in found.values() for i in v)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    root = tmp_path_factory.mktemp("problem-scope")
    demo = root / "demo"
    demo.mkdir()
    items = [make_item(i, 0) for i in _chosen()]
    with (demo / "catalog.jsonl").open("w", encoding="utf-8") as f:
        f.writelines(json.dumps(item.record) + "\n" for item in items)
    with (demo / "truth.jsonl").open("w", encoding="utf-8") as f:
        f.writelines(json.dumps(item.truth.to_json()) + "\n" for item in items)
    settings = load_settings(data_dir=root / "var")
    plan = BuildPlan(demo / "catalog.jsonl", "demo", None)
    result = run_build(settings, plan, stream=io.StringIO(), interactive=False)
    assert result.status == "succeeded"
    return settings, demo


def test_no_hiking_boot_is_said_to_help_with_a_tent_or_a_backpack_problem(
    built: tuple[Settings, Path],
) -> None:
    settings, demo = built
    assistant = build_assistant(settings)
    truths = [json.loads(line) for line in (demo / "truth.jsonl").read_text().splitlines()]
    boots = [t["id"] for t in truths if t["concept"] == "hiking boot"]
    waterproof = {t["id"] for t in truths if "waterproof" in t["pois"]}
    tents = [t["id"] for t in truths if t["concept"] == "tent"]
    assert len(boots) >= PER_TRAP
    tent_cards = [assistant.item(key) for key in tents]
    said_of_tents = {p for card in tent_cards if card is not None for p in card.problems}
    assert "leaking tent" in said_of_tents  # the trap is set: a tent's text says it
    for key in boots:
        card = assistant.item(key)
        assert card is not None and (key not in waterproof or "waterproof" in card.pois)
        assert not {"leaking tent", "soggy gear"} & set(card.problems), (key, card.problems)
        answer = assistant.ask(key, "does it help with a leaking tent?")
        assert all("leaking tent" not in e.text for e in answer.evidence)
    # search links the problem to the items that solve it, and to no boot
    leaking = next(
        entry
        for entries in assistant.searcher.dictionary.phrases.values()
        for entry in entries
        if entry.label == "Problem" and entry.key == "leaking tent"
    )
    linked = set(assistant.searcher.linked_items(leaking))
    assert linked and linked <= set(tents)
    found = assistant.search("something for a leaking tent", limit=20)
    assert not any(
        "helps with leaking tent" in hit.reasons for hit in found.hits if hit.key in boots
    )


def test_eval_problems_scores_the_cards_and_search_against_the_truth(
    built: tuple[Settings, Path],
) -> None:
    from shopkg.cli import cli

    settings, demo = built
    command = ["--data-dir", str(settings.data_dir), "eval", "problems", "--data", str(demo)]
    out = CliRunner().invoke(cli, command)
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["truth_items"] == OTHERS + 3 * PER_TRAP
    card = report["card"]
    # the shared-POI path gave 0.28 precision on 600 items, 43% of its pairs another product
    # type's problem (now 0.70 and none; fewer items of a concept here, so fewer links
    # learned from it); the text's own words ("cold toes" for "cold feet") count as wrong
    assert card["precision"] >= 0.6 and card["recall"] >= 0.3
    assert card["other_type"] == 0
    assert report["search"]["precision"] == card["precision"]
    assert report["card_by_evidence"]["concept"]["pairs_said"] > 0

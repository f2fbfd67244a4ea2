"""`eval search --format demo`: judged queries from the demo truth, scored on constraints."""

from __future__ import annotations

import io
import json
from pathlib import Path

from click.testing import CliRunner

from shopkg.evals.search_demo import DemoQuery, Facts, evaluate_queries, generate_queries


def _facts() -> dict[str, Facts]:
    facts = {}
    for i in range(40):
        facts[f"boot{i}"] = Facts(
            "hiking boot",
            frozenset({"waterproof"} if i % 2 else {"insulated"}),
            ("blue", "black")[i % 2],
            ("men", "women", None)[i % 3],
            50.0 + i,
        )
        facts[f"pan{i}"] = Facts("frying pan", frozenset({"non-stick"}), "black", None, 20.0 + i)
    return facts


def test_generated_queries_are_judged_from_the_truth_alone() -> None:
    facts = _facts()
    queries = generate_queries(facts, 60, seed=1)
    assert len(queries) == 60 and len({q.text for q in queries}) == 60
    assert queries == generate_queries(facts, 60, seed=1)  # the seed fixes them
    assert any(not q.satisfying for q in queries)  # impossible combinations too
    assert any(q.negated for q in queries)
    for query in queries:
        assert query.satisfying == {k for k, f in facts.items() if query.satisfied_by(f)}
        assert query.wanted["concept"] in query.text or query.wanted["concept"] + "s" in query.text


def test_varied_phrasings_state_the_same_constraints_in_other_words() -> None:
    facts = _facts()
    varied = generate_queries(facts, 60, seed=1, phrasing="varied")
    assert varied == generate_queries(facts, 60, seed=1, phrasing="varied")
    for query in varied:
        assert query.satisfying == {k for k, f in facts.items() if query.satisfied_by(f)}
    texts = " ".join(q.text for q in varied)
    assert any(form in texts for form in ("women's", "ladies", "womens"))
    assert any(form in texts for form in ("w/o", "that aren't", "excluding", "non-", "with no"))
    assert "$" in texts or "dollars" in texts or "bucks" in texts


def test_a_search_that_ignores_constraints_scores_low_and_one_that_obeys_scores_high() -> None:
    facts = _facts()
    queries = generate_queries(facts, 80, seed=2)
    by_text = {q.text: q for q in queries}

    def obeying(text: str) -> tuple[list[str], str]:
        query = by_text[text]
        return sorted(query.satisfying), "exact" if query.satisfying else "relaxed"

    def ignoring(text: str) -> tuple[list[str], str]:
        concept = by_text[text].wanted["concept"]
        return sorted(k for k, f in facts.items() if f.concept == concept), "exact"

    good, bad = (
        evaluate_queries(queries, facts, obeying),
        evaluate_queries(queries, facts, ignoring),
    )
    assert good["constraint_precision@10"] == 1.0 and good["negation_violations"] == 0
    assert good["match_correct"] == {"satisfiable_said_exact": 1.0, "impossible_said_no_exact": 1.0}
    assert bad["constraint_precision@10"] < 0.9 and bad["negation_violations"] > 0
    assert bad["match_correct"]["impossible_said_no_exact"] == 0.0


def test_a_negated_colour_is_a_violation_only_for_items_of_that_colour() -> None:
    query = DemoQuery("hiking boots not blue", {"concept": "hiking boot"}, ("colour", "blue"))
    facts = _facts()
    assert query.violates(facts["boot0"]) and not query.violates(facts["boot1"])


def test_the_demo_search_eval_runs_the_real_assistant_on_a_built_demo(tmp_path: Path) -> None:
    from catalog.demo.generate import write_catalog
    from foundation.settings import load_settings
    from jobs.build import BuildPlan, run_build
    from shopkg.cli import cli

    write_catalog(tmp_path / "demo", 150, 5, image_limit=0, truth=True)
    settings = load_settings(data_dir=tmp_path / "var")
    plan = BuildPlan(tmp_path / "demo" / "catalog.jsonl", "demo", generated=True)
    result = run_build(settings, plan, stream=io.StringIO(), interactive=False)
    assert result.status == "succeeded"
    command = ["--data-dir", str(tmp_path / "var"), "eval", "search", "--format", "demo"]
    out = CliRunner().invoke(cli, [*command, "--data", str(tmp_path / "demo"), "--queries", "60"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["queries"] == 60 and report["satisfiable"] + report["impossible"] == 60
    assert report["constraint_precision@10"] > 0.7
    assert report["per_constraint_precision"]["concept"] > 0.9
    assert report["match_correct"]["satisfiable_said_exact"] > 0.8

"""The fact checker against hand-labelled notes: recall and precision for contradictions, per fact.

Two labelled sets, each with its rules in ``LABELLING.md`` beside it:

- ``tests/data/checker_labels/``: Gemma 3 270M notes of simulated ed_trauma_sim rows;
- ``tests/data/checker_labels_neiss/``: Gemma 3 270M notes (prompt ``neiss/v1``) of DP-VAE rows
  trained on the public NEISS sample, made by ``build_set.py`` there. No real NEISS row or
  narrative is in it.

Each holds model notes labelled by reading and the same notes edited on purpose
(``corrupted:<kind>``; ``decoy_*`` edits contradict nothing). Thresholds sit a few points below
what the checker achieves, so a regression fails. The measured figures are kept in
``metrics/checker/<dataset>.json`` for ``evaluate`` to quote; after a deliberate change to the
checker, rewrite them with ``TRAUMASYNTH_WRITE_CHECKER_METRICS=1 pytest tests/narrate/test_checker_labels.py``.
See the tables with ``pytest -s``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.narrate.checker_figures import assert_committed, detail
from traumasynth.experiments.checker_score import CheckerScore, LabelledNote, load_labelled, score_checker
from traumasynth.narrate.checking.facts import load_lexicon


@dataclass(frozen=True)
class LabelledSet:
    """One labelled set and what the tests demand of it."""

    dataset: str
    labels: Path
    contradiction_kinds: set[str]
    decoy_kinds: set[str]
    #: (minimum recall, minimum precision) per fact: measured values less a few points (None: not measured).
    thresholds: dict[str, tuple[float | None, float | None]]
    overall_recall: float
    overall_precision: float
    min_items: int = 150
    #: Facts a label may name besides the lexicon's: coded facts the prompt gives that no rule reads.
    extra_facts: set[str] = field(default_factory=set)

    @property
    def measured(self) -> Path:
        return REPO / "metrics" / "checker" / f"{self.dataset}.json"


SETS = {
    "ed_trauma_sim": LabelledSet(
        dataset="ed_trauma_sim",
        labels=REPO / "tests" / "data" / "checker_labels" / "labels.jsonl",
        contradiction_kinds={
            "age_digits", "age_words", "sex_noun", "sex_pronoun", "mechanism", "vital", "negation",
            "body_region", "injury_type", "disposition", "imaging", "arrival", "place",
        },
        decoy_kinds={"decoy_age_words", "decoy_age_approx", "decoy_synonym", "decoy_paraphrase", "decoy_side",
                     "decoy_negation", "decoy_third_party"},
        thresholds={
            "age": (0.95, 0.95),
            "alcohol": (0.95, 0.95),
            "arrival_mode": (0.95, 0.95),
            "body_region": (0.75, 0.95),
            "disposition": (0.80, 0.95),
            "gcs": (0.95, 0.95),  # measured 1.00 since "drowsy" and "comatose" are read as ranges
            "heart_rate": (0.95, 0.95),
            "imaging": (0.95, 0.95),
            "injury_type": (0.95, 0.95),
            "mechanism": (0.92, 0.95),
            "pain": (0.95, 0.95),
            "place": (0.95, 0.95),
            "resp_rate": (0.95, 0.95),
            "sbp": (0.95, 0.95),
            "sex": (0.90, 0.95),
            "spo2": (0.95, 0.95),
            "temperature": (0.95, 0.95),
            "triage": (0.95, 0.95),
        },
        overall_recall=0.95,  # measured 0.973 (the target: 0.95)
        overall_precision=0.97,  # measured 1.000
    ),
    "neiss": LabelledSet(
        dataset="neiss",
        labels=REPO / "tests" / "data" / "checker_labels_neiss" / "labels.jsonl",
        contradiction_kinds={
            "age_digits", "age_words", "sex_noun", "sex_pronoun", "mechanism", "negation", "body_part",
            "diagnosis", "disposition", "product", "location", "alcohol", "drug",
        },
        decoy_kinds={"decoy_age_words", "decoy_age_format", "decoy_age_months", "decoy_side", "decoy_negation",
                     "decoy_third_party", "decoy_synonym", "decoy_paraphrase"},
        thresholds={
            "age": (0.95, 0.95),
            "alcohol": (0.95, 0.95),
            "body_part": (0.90, 0.90),
            "diagnosis": (0.95, 0.88),
            "disposition": (0.95, 0.95),
            "drug": (0.95, 0.95),
            "location": (0.95, 0.90),
            "mechanism": (0.95, 0.78),
            "sex": (0.95, 0.95),
            "product_group_1": (0.95, 0.78),
        },
        overall_recall=0.97,  # measured 0.993 (the target: 0.95)
        overall_precision=0.88,  # measured 0.912
    ),
}  # fmt: skip


@pytest.fixture(scope="module", params=sorted(SETS))
def labelled_set(request: pytest.FixtureRequest) -> LabelledSet:
    return SETS[request.param]


@pytest.fixture(scope="module")
def notes(labelled_set: LabelledSet) -> list[LabelledNote]:
    return load_labelled(labelled_set.labels)


@pytest.fixture(scope="module")
def score(labelled_set: LabelledSet, notes: list[LabelledNote]) -> CheckerScore:
    lexicon = load_lexicon(dataset=labelled_set.dataset)
    assert lexicon is not None
    result = score_checker(notes=notes, lexicon=lexicon)
    print(f"\nFact checker on {result.items} labelled notes ({labelled_set.labels}):\n{result.table()}")
    return result


def test_set_is_large_and_covers_every_kind(labelled_set: LabelledSet, notes: list[LabelledNote]) -> None:
    sources = Counter(n.source for n in notes)
    kinds = {s.removeprefix("corrupted:") for s in sources if s.startswith("corrupted:")}
    assert len(notes) >= labelled_set.min_items
    assert sources["model"] >= 80
    assert sum(v for k, v in sources.items() if k != "model") >= 60
    assert labelled_set.contradiction_kinds <= kinds, sorted(labelled_set.contradiction_kinds - kinds)
    assert labelled_set.decoy_kinds <= kinds, sorted(labelled_set.decoy_kinds - kinds)
    assert len({n.id for n in notes}) == len(notes)
    for note in notes:  # a decoy contradicts nothing; any other edit contradicts something
        decoy = note.source.startswith("corrupted:decoy_")
        corrupted = note.source.startswith("corrupted:")
        assert not (decoy and note.contradicted) and not (corrupted and not decoy and not note.contradicted), note.id


def test_labels_name_facts_the_rows_hold(labelled_set: LabelledSet, notes: list[LabelledNote]) -> None:
    lexicon = load_lexicon(dataset=labelled_set.dataset)
    assert lexicon is not None
    names = {r.name for r in lexicon.facts}
    columns = {r.column for r in lexicon.facts}
    extra = labelled_set.extra_facts
    for note in notes:
        assert note.contradicted <= names | extra, (note.id, sorted(note.contradicted - names - extra))
        assert columns <= set(note.row), (note.id, sorted(columns - set(note.row)))


def test_recall_and_precision_per_fact(labelled_set: LabelledSet, score: CheckerScore) -> None:
    failures = []
    for fact, (min_recall, min_precision) in labelled_set.thresholds.items():
        s = score.per_fact.get(fact)
        assert s is not None, f"no labelled or reported contradiction of {fact}"
        if min_recall is not None and s.recall is not None and s.recall < min_recall:
            failures.append(f"{fact}: recall {s.recall:.3f} < {min_recall}")
        if min_precision is not None and s.precision is not None and s.precision < min_precision:
            failures.append(f"{fact}: precision {s.precision:.3f} < {min_precision}")
    assert not failures, "; ".join(failures) + detail(score)


def test_overall_recall_and_precision(labelled_set: LabelledSet, score: CheckerScore) -> None:
    assert score.overall.recall is not None and score.overall.recall >= labelled_set.overall_recall, detail(score)
    assert score.overall.precision is not None and score.overall.precision >= labelled_set.overall_precision, detail(
        score
    )


def test_measured_figures_are_the_committed_ones(labelled_set: LabelledSet, score: CheckerScore) -> None:
    assert_committed(
        score.to_json(dataset=labelled_set.dataset),
        labelled_set.measured,
        test_file="tests/narrate/test_checker_labels.py",
    )

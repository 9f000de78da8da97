"""The fact checker against hand-labelled NEISS-layout notes of SYNTHETIC rows (same tests as the simulator set).

The set (``tests/data/checker_labels_neiss/labels.jsonl``, rules in ``LABELLING.md`` beside
it, made by ``build_set.py``) holds Gemma 3 270M notes (prompt ``neiss/v1``) of DP-VAE rows
trained on the public NEISS sample, labelled by reading, and the same notes edited on purpose.
No real NEISS row or narrative is in it. The measured figures are kept in
``metrics/checker/neiss.json``; rewrite it with
``TRAUMASYNTH_WRITE_CHECKER_METRICS=1 pytest tests/narrate/test_checker_labels_neiss.py``.
"""

from __future__ import annotations

from tests.conftest import REPO
from tests.narrate import test_checker_labels as base
from tests.narrate.test_checker_labels import (  # noqa: F401  (the shared tests, run on this set)
    notes,
    score,
    test_labels_name_facts_the_rows_hold,
    test_measured_figures_are_the_committed_ones,
    test_overall_recall_and_precision,
    test_recall_and_precision_per_fact,
    test_set_is_large_and_covers_every_kind,
)

SET = {
    "LABELS": REPO / "tests" / "data" / "checker_labels_neiss" / "labels.jsonl",
    "MEASURED": REPO / "metrics" / "checker" / "neiss.json",
    "DATASET": "neiss",
    "MIN_ITEMS": 150,
    "EXTRA_FACTS": set(),
    "CONTRADICTION_KINDS": {
        "age_digits",
        "age_words",
        "sex_noun",
        "sex_pronoun",
        "mechanism",
        "negation",
        "body_part",
        "diagnosis",
        "disposition",
        "product",
        "location",
        "alcohol",
        "drug",
    },  # fmt: skip
    "DECOY_KINDS": {
        "decoy_age_words",
        "decoy_age_format",
        "decoy_age_months",
        "decoy_side",
        "decoy_negation",
        "decoy_third_party",
        "decoy_synonym",
        "decoy_paraphrase",
    },  # fmt: skip
    # (minimum recall, minimum precision): measured less a few points.
    "THRESHOLDS": {
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
    "OVERALL_RECALL": 0.97,  # measured 0.993 (the target: 0.95)
    "OVERALL_PRECISION": 0.88,  # measured 0.905
}


def setup_module() -> None:
    global _saved
    _saved = {k: getattr(base, k) for k in SET}
    for k, v in SET.items():
        setattr(base, k, v)


def teardown_module() -> None:
    for k, v in _saved.items():
        setattr(base, k, v)


_saved: dict[str, object] = {}

"""Narrative metrics: distinct-n, text classifiers and discriminator, the NEISS-like join."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from traumasynth.core.errors import DataError
from traumasynth.evaluate.text import distinct_n, narrative_metrics, text_classifier_f1, text_discriminator_auc
from traumasynth.spec import DatasetSpec

WORDS = {
    "fall": "slipped fell stairs ladder floor tripped",
    "assault": "punched hit fight struck kicked attacked",
    "burn": "stove hot water scald flame oven",
}


def _corpus(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    labels = [str(x) for x in rng.choice(list(WORDS), size=n)]
    texts = [" ".join(["patient", *rng.choice(WORDS[lab].split(), size=4)]) for lab in labels]
    return texts, labels


def _real_and_synthetic() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """240 real rows with their notes, 150 synthetic rows, and notes for the synthetic rows."""
    texts, labels = _corpus(240, 2)
    real = pd.DataFrame({"case_id": [f"r{i}" for i in range(240)], "story": texts, "age": 30, "mech": labels})
    syn_texts, syn_labels = _corpus(150, 3)
    synthetic = pd.DataFrame({"case_id": [f"m-{i:06d}" for i in range(150)], "age": 40, "mech": syn_labels})
    return real, synthetic, syn_texts


def test_distinct_n_known_values():
    assert distinct_n(["a b a b"], n=1) == 0.5
    assert distinct_n(["a b a b"], n=2) == pytest.approx(2 / 3)
    assert distinct_n(["A b.", "a B"], n=1) == 0.5  # case and punctuation ignored
    assert distinct_n(["one"], n=2) == 0.0


def test_text_classifier_separates_distinct_vocabularies():
    train_texts, train_labels = _corpus(120, 0)
    test_texts, test_labels = _corpus(60, 1)
    f1 = text_classifier_f1(
        train_texts=train_texts, train_labels=train_labels, test_texts=test_texts, test_labels=test_labels,
        max_features=1000, seed=0,
    )  # fmt: skip
    assert f1 == 1.0


def test_text_discriminator_near_half_on_one_corpus_and_high_on_another():
    texts, _ = _corpus(200, 0)
    same = text_discriminator_auc(real_texts=texts, synthetic_texts=list(texts), cv_folds=3, max_features=500, seed=0)
    assert abs(same - 0.5) < 0.1
    other = [t.replace("patient", "the synthetic case report of a") for t in _corpus(200, 1)[0]]
    assert text_discriminator_auc(real_texts=texts, synthetic_texts=other, cv_folds=3, max_features=500, seed=0) > 0.95


@pytest.fixture()
def narrated_spec() -> DatasetSpec:
    """A small spec with a real narrative column, like NEISS."""
    return DatasetSpec.model_validate(
        {
            "name": "mini_neiss",
            "description": "A hand-made table with narratives.",
            "columns": [
                {"name": "case_id", "kind": "identifier", "role": "excluded", "description": "Case id."},
                {"name": "story", "kind": "text", "role": "narrative", "description": "Narrative."},
                {"name": "age", "kind": "integer", "bounds": [0, 100], "description": "Age."},
                {"name": "mech", "kind": "categorical", "role": "target", "description": "Mechanism.",
                 "categories": list(WORDS)},
            ],
        }
    )  # fmt: skip


def test_narrative_metrics_join_labels_and_compare_with_real_text(narrated_spec):
    real, synthetic, syn_texts = _real_and_synthetic()
    narratives = pd.DataFrame(
        {"row_id": synthetic["case_id"][::-1].to_numpy(), "narrative": syn_texts[::-1], "faithfulness": 1.0}
    )  # reversed order: labels must come from the id join, not the row order
    out = narrative_metrics(
        narratives=narratives, narrate_metrics={"faithfulness_rate": 0.9}, synthetic=synthetic,
        real_train=real.iloc[:160], real_test=real.iloc[160:], spec=narrated_spec, id_column="row_id",
        text_rows=1000, max_features=1000, cv_folds=3, seed=0, checker_metrics={"recall": 0.95, "precision": 1.0},
    )  # fmt: skip
    assert out["faithfulness_rate"] == 0.9
    assert (out["checker_recall"], out["checker_precision"]) == (0.95, 1.0)  # quoted beside it
    assert out["text_tstr_macro_f1"] == 1.0
    assert out["text_trtr_macro_f1"] == 1.0
    assert out["text_tstr_trtr_ratio"] == 1.0
    assert 0 < out["distinct_2"] <= 1
    assert abs(out["text_discriminator_auc"] - 0.5) < 0.15  # same generator on both sides
    wrong = narratives.assign(narrative=[syn_texts[i] for i in np.random.default_rng(0).permutation(150)])
    shuffled = narrative_metrics(
        narratives=wrong, narrate_metrics=None, synthetic=synthetic, real_train=real.iloc[:160],
        real_test=real.iloc[160:], spec=narrated_spec, id_column="row_id", text_rows=1000, max_features=1000,
        cv_folds=3, seed=0,
    )  # fmt: skip
    assert shuffled["faithfulness_rate"] == 1.0  # from the file's column when the metrics file is absent
    assert "checker_recall" not in shuffled  # no labelled set measured: nothing quoted
    assert shuffled["text_tstr_macro_f1"] < 0.6  # narratives that do not match their rows teach nothing


def test_too_few_narratives_leave_the_text_comparison_out_not_a_traceback(narrated_spec, caplog):
    """Three narrated rows (a test-sized run) and one repeated real note: faithfulness and distinct-n stay,
    the text TSTR/TRTR and discriminator are left out with one warning (sklearn's 'no terms remain' before)."""
    real = pd.DataFrame({"case_id": [f"r{i}" for i in range(20)], "story": "made-up note, not a patient", "age": 30,
                         "mech": [list(WORDS)[i % 2] for i in range(20)]})  # fmt: skip
    synthetic = pd.DataFrame({"case_id": ["m-1", "m-2", "m-3"], "age": 40, "mech": list(WORDS)[:3]})
    narratives = pd.DataFrame(
        {"row_id": synthetic["case_id"], "narrative": ["alpha one", "beta two", "gamma three"], "faithfulness": 1.0}
    )
    with caplog.at_level("WARNING", logger="traumasynth.evaluate.text"):
        out = narrative_metrics(
            narratives=narratives, narrate_metrics={"faithfulness_rate": 0.5}, synthetic=synthetic,
            real_train=real.iloc[:12], real_test=real.iloc[12:], spec=narrated_spec, id_column="row_id",
            text_rows=1000, max_features=1000, cv_folds=3, seed=0,
        )  # fmt: skip
    assert out["faithfulness_rate"] == 0.5 and "distinct_2" in out
    assert not any(k.startswith("text_") for k in out)
    (record,) = caplog.records
    assert "left out" in record.getMessage() and "narrate.n_rows" in record.getMessage()
    assert "\n" not in record.getMessage()


def test_a_corpus_without_a_shared_word_is_a_one_line_data_error():
    with pytest.raises(DataError, match=r"The 2 narratives share no word .* Narrate more rows"):
        text_classifier_f1(
            train_texts=["alpha", "beta"], train_labels=["a", "b"], test_texts=["alpha"], test_labels=["a"],
            max_features=100, seed=0,
        )  # fmt: skip


def test_fallback_notes_are_counted_from_the_narrate_metrics_or_the_file(narrated_spec):
    real, synthetic, syn_texts = _real_and_synthetic()
    narratives = pd.DataFrame(
        {"row_id": synthetic["case_id"], "narrative": syn_texts, "fallback": [i % 5 == 0 for i in range(150)]}
    )
    common = dict(
        narratives=narratives, synthetic=synthetic, real_train=real.iloc[:160], real_test=real.iloc[160:],
        spec=narrated_spec, id_column="row_id", text_rows=1000, max_features=1000, cv_folds=3, seed=0,
    )  # fmt: skip
    assert narrative_metrics(narrate_metrics=None, **common)["fallback_rate"] == pytest.approx(0.2)
    stage = {"fallback_rate": 0.25, "loop_rate_generated": 0.4, "unsupported_rate_generated": 0.3}
    out = narrative_metrics(narrate_metrics=stage, **common)
    assert (out["fallback_rate"], out["loop_rate_generated"], out["unsupported_rate_generated"]) == (0.25, 0.4, 0.3)

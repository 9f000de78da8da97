from __future__ import annotations

from pathlib import Path

import pytest

from tests.review.test_ingest import row, write_csv
from traumasynth.review.ingest import ReviewKey, read_ratings
from traumasynth.review.summary import summarise_ratings

KEY = ReviewKey(
    review_id="abc",
    dataset="neiss",
    sources={"item-r1": "real", "item-r2": "real", "item-v1": "vae", "item-v2": "vae", "item-d1": "ddpm"},
)


def test_summary_numbers_match_a_hand_computation(tmp_path: Path) -> None:
    a = write_csv(
        tmp_path / "a.csv",
        [
            row("a", "item-r1", realism="5", coherence="4", guess="real"),
            row("a", "item-r2", realism="4", coherence="4", guess="synthetic"),
            row("a", "item-v1", realism="2", coherence="3", guess="synthetic", flags="implausible_vitals"),
            row("a", "item-v2", realism="3", coherence="", guess="real"),
        ],
    )
    b = write_csv(
        tmp_path / "b.csv",
        [
            row("b", "item-r1", realism="5", coherence="5", guess="real"),
            row("b", "item-r2", realism="4", coherence="4", guess="real"),
            row("b", "item-v1", realism="2", coherence="2", guess="synthetic"),
            row("b", "item-v2", realism="3", coherence="3", guess="synthetic"),
        ],
    )
    s = summarise_ratings(ratings=read_ratings(paths=[a, b], key=KEY), key=KEY)
    assert (s["n_reviewers"], s["n_ratings"], s["n_items_on_page"]) == (2, 8, 5)
    real, vae, ddpm = s["by_source"]["real"], s["by_source"]["vae"], s["by_source"]["ddpm"]
    assert real["realism_mean"] == pytest.approx(4.5)
    assert real["coherence_mean"] == pytest.approx(4.25)
    assert real["judged_real_share"] == pytest.approx(0.75)
    assert vae["realism_mean"] == pytest.approx(2.5)
    assert vae["coherence_mean"] == pytest.approx((3 + 2 + 3) / 3, abs=1e-4)
    assert vae["judged_real_share"] == pytest.approx(0.25)
    assert vae["flag_share"]["implausible_vitals"] == pytest.approx(0.25)
    assert ddpm["n_ratings"] == 0 and ddpm["realism_mean"] is None and ddpm["n_items_on_page"] == 1
    # a: correct on r1, v1; wrong on r2, v2 -> 0.5. b: correct on r1, r2, v1, v2 -> 1.0
    assert s["reviewers"]["a"]["guess_accuracy"] == pytest.approx(0.5)
    assert s["reviewers"]["a"]["balanced_accuracy"] == pytest.approx(0.5)
    assert s["reviewers"]["b"]["guess_accuracy"] == pytest.approx(1.0)
    # Realism identical for both raters on the four items -> perfect agreement.
    assert s["agreement"]["realism_alpha_ordinal"] == pytest.approx(1.0)
    assert s["agreement"]["realism_alpha_interval"] == pytest.approx(1.0)
    # Guesses: a = R S S R, b = R R S S -> observed 0.5, chance 0.5 -> kappa 0.
    assert s["agreement"]["guess_cohen_kappa"] == {"a vs b": {"kappa": pytest.approx(0.0), "n_items": 4}}
    assert s["agreement"]["coherence_alpha_ordinal"] is not None

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from traumasynth.review.agreement import cohen_kappa, krippendorff_alpha, pairwise_kappa


def _long(matrix: list[list[float]]) -> pd.DataFrame:
    rows = [
        {"reviewer_id": f"r{r}", "item_id": f"i{u:02d}", "score": v}
        for r, values in enumerate(matrix)
        for u, v in enumerate(values)
        if not np.isnan(v)
    ]
    return pd.DataFrame(rows)


# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", example C: 3 coders,
# 15 units, missing values. Published values: nominal 0.691, interval 0.811.
NAN = np.nan
EXAMPLE = [
    [NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
    [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
    [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4],
]


def test_alpha_matches_the_published_example() -> None:
    ratings = _long(EXAMPLE)
    assert krippendorff_alpha(ratings=ratings, value="score", level="nominal") == pytest.approx(0.691358, abs=1e-6)
    assert krippendorff_alpha(ratings=ratings, value="score", level="interval") == pytest.approx(0.810845, abs=1e-6)


def test_alpha_of_perfect_agreement_is_one() -> None:
    ratings = _long([[1, 2, 3, 4, 5, 3], [1, 2, 3, 4, 5, 3], [1, 2, NAN, 4, 5, 3]])
    for level in ("ordinal", "interval"):
        assert krippendorff_alpha(ratings=ratings, value="score", level=level, domain=range(1, 6)) == pytest.approx(1)


def test_alpha_of_labels_uses_the_nominal_metric() -> None:
    ratings = _long([[0, 0, 1, 1], [0, 0, 1, 1]])
    ratings["guess"] = ratings["score"].map({0: "real", 1: "synthetic"})
    assert krippendorff_alpha(ratings=ratings, value="guess", level="nominal") == pytest.approx(1)


def test_alpha_is_undefined_with_one_rater_or_no_variation() -> None:
    assert krippendorff_alpha(ratings=_long([[1, 2, 3]]), value="score", level="ordinal") is None
    assert krippendorff_alpha(ratings=_long([[3, 3], [3, 3]]), value="score", level="ordinal") is None
    # Two raters who never rate the same item: nothing pairable.
    assert krippendorff_alpha(ratings=_long([[1, NAN], [NAN, 2]]), value="score", level="interval") is None


def test_kappa_matches_a_hand_computation() -> None:
    a = ["R", "R", "S", "S", "R", "S", "S", "S", "R", "S"]
    b = ["R", "S", "S", "S", "R", "S", "R", "S", "R", "S"]
    # observed 8/10 = 0.8; chance 0.4*0.4 + 0.6*0.6 = 0.52; kappa = 0.28 / 0.48
    assert cohen_kappa(first=a, second=b) == pytest.approx(0.28 / 0.48)
    assert cohen_kappa(first=["R", "R"], second=["R", "R"]) is None


def test_pairwise_kappa_uses_items_both_raters_answered() -> None:
    ratings = pd.DataFrame(
        {
            "reviewer_id": ["a", "a", "a", "b", "b", "b", "b"],
            "item_id": ["i1", "i2", "i3", "i1", "i2", "i3", "i4"],
            "guess": ["real", "synthetic", "real", "real", "synthetic", "real", "synthetic"],
        }
    )
    out = pairwise_kappa(ratings=ratings, value="guess")
    assert out == {"a vs b": {"kappa": pytest.approx(1.0), "n_items": 3}}

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from traumasynth.review.form import CSV_COLUMNS
from traumasynth.review.ingest import RatingsError, ReviewKey, ReviewKeyError, read_key, read_ratings

KEY = ReviewKey(
    review_id="abc",
    dataset="neiss",
    sources={"item-a": "real", "item-b": "vae", "item-c": "ddpm"},
)


def write_csv(path: Path, rows: list[dict], columns: tuple[str, ...] = CSV_COLUMNS) -> Path:
    # As the page writes it: UTF-8 with a byte-order mark, CRLF line ends.
    frame = pd.DataFrame(rows, columns=list(columns))
    path.write_text("\ufeff" + frame.to_csv(index=False, lineterminator="\r\n"), encoding="utf-8")
    return path


def row(reviewer: str, item: str, realism="4", coherence="5", flags="", free_text="", guess="real") -> dict:
    return {
        "reviewer_id": reviewer,
        "item_id": item,
        "realism": realism,
        "coherence": coherence,
        "flags": flags,
        "free_text": free_text,
        "guess": guess,
        "timestamp": "2026-01-05T10:11:12.345Z",
    }


def test_valid_exports_are_read_with_their_source(tmp_path: Path) -> None:
    a = write_csv(
        tmp_path / "a.csv",
        [
            row("dr_a", "item-a", flags="implausible_vitals;age_injury_mismatch", free_text='says "ok", fine'),
            row("dr_a", "item-b", realism="", coherence="", guess=""),
        ],
    )
    b = write_csv(tmp_path / "b.csv", [row("dr_b", "item-a", realism="2", guess="synthetic")])
    out = read_ratings(paths=[a, b], key=KEY)
    assert len(out) == 3
    assert out["source"].tolist() == ["real", "vae", "real"]
    assert out["realism"].tolist()[0] == 4 and pd.isna(out["realism"].iloc[1])
    assert str(out["realism"].dtype) == "Int64"
    assert out["flags"].iloc[0] == ("implausible_vitals", "age_injury_mismatch")
    assert out["free_text"].iloc[0] == 'says "ok", fine'
    assert pd.isna(out["guess"].iloc[1])


def test_every_problem_of_every_file_is_listed(tmp_path: Path) -> None:
    good_cols = write_csv(
        tmp_path / "bad_values.csv",
        [
            row("dr_a", "item-a", realism="7"),
            row("dr_a", "item-zzz"),
            row("dr_a", "item-b", coherence="2.5", guess="maybe", flags="odd_flag"),
            row("", "item-c"),
            row("dr_a", "item-c") | {"timestamp": "yesterday"},
        ],
    )
    dup = write_csv(tmp_path / "dup.csv", [row("dr_a", "item-a")])
    wrong = write_csv(tmp_path / "wrong.csv", [{"reviewer": "x", "item_id": "item-a"}], columns=("reviewer", "item_id"))
    with pytest.raises(RatingsError) as err:
        read_ratings(paths=[good_cols, dup, wrong], key=KEY)
    message = str(err.value)
    problems = err.value.problems
    assert len(problems) == 9
    for expected in (
        "bad_values.csv line 2: realism '7' is not an integer in 1..5",
        "bad_values.csv line 3: unknown item_id 'item-zzz'",
        "bad_values.csv line 4: coherence '2.5' is not an integer in 1..5",
        "bad_values.csv line 4: guess 'maybe' is not one of ['real', 'synthetic']",
        "bad_values.csv line 4: unknown flags ['odd_flag']",
        "bad_values.csv line 5: empty reviewer_id",
        "bad_values.csv line 6: timestamp 'yesterday' is not an ISO 8601 date-time",
        "reviewer 'dr_a' rated item 'item-a' 2 times",
        "wrong.csv: wrong columns (missing ['reviewer_id', 'realism', 'coherence', 'flags', 'free_text', 'guess',"
        " 'timestamp'], unexpected ['reviewer'])",
    ):
        assert expected in message, expected


def test_header_only_and_missing_files_are_problems(tmp_path: Path) -> None:
    empty = write_csv(tmp_path / "empty.csv", [])
    with pytest.raises(RatingsError, match="empty.csv: no ratings.*\n.*nope.csv: file not found"):
        read_ratings(paths=[empty, tmp_path / "nope.csv"], key=KEY)


def test_key_file_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ReviewKeyError, match="not found"):
        read_key(tmp_path / "key.json")
    (tmp_path / "key.json").write_text("{not json")
    with pytest.raises(ReviewKeyError, match="not valid JSON"):
        read_key(tmp_path / "key.json")
    (tmp_path / "key.json").write_text(json.dumps({"items": {"item-a": {"record_id": "1"}}}))
    with pytest.raises(ReviewKeyError, match="no `source`"):
        read_key(tmp_path / "key.json")
    (tmp_path / "key.json").write_text(
        json.dumps({"review_id": "r", "dataset": "d", "items": {"item-a": {"source": "vae"}}})
    )
    assert read_key(tmp_path / "key.json") == ReviewKey(review_id="r", dataset="d", sources={"item-a": "vae"})


def test_the_export_formula_guard_is_removed_on_ingest(tmp_path: Path) -> None:
    # The page writes '=... for a cell a spreadsheet would run; a quote before anything else is text.
    path = write_csv(
        tmp_path / "a.csv",
        [row("dr_a", "item-a", free_text="'=1+1"), row("dr_a", "item-b", free_text="'quoted' remark")],
    )
    out = read_ratings(paths=[path], key=KEY).set_index("item_id")
    assert out.loc["item-a", "free_text"] == "=1+1"
    assert out.loc["item-b", "free_text"] == "'quoted' remark"

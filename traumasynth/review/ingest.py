"""Read exported ratings CSVs and the key file, checking everything before use.

Every problem in every file is collected and reported at once (file, line, column),
so a coordinator can fix a batch of exports in one pass.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from traumasynth.core.errors import DataError
from traumasynth.review.form import CSV_COLUMNS, FLAG_SEPARATOR, FLAGS, GUESSES, SCALES, SCORE_RANGE

logger = logging.getLogger(__name__)

_MAX_LISTED = 50


class RatingsError(DataError):
    """Exported ratings are malformed (wrong columns, unknown items, duplicates, bad values).

    Attributes:
        problems: one line per problem, all collected before raising.
    """

    def __init__(self, message: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = self.problems[:_MAX_LISTED]
        more = len(self.problems) - len(shown)
        lines = [f"  - {p}" for p in shown] + ([f"  - ... and {more} more"] if more else [])
        super().__init__(message + "\n" + "\n".join(lines))


class ReviewKeyError(DataError):
    """The key file (item id -> source) is missing or malformed."""


@dataclass(frozen=True)
class ReviewKey:
    """The key of one review page.

    Attributes:
        review_id: fingerprint of the page.
        dataset: the dataset the page was drawn from.
        sources: item id -> ``real`` or a model name.
    """

    review_id: str
    dataset: str
    sources: dict[str, str]


def read_key(path: Path) -> ReviewKey:
    """Read ``review/key.json`` as written by ``page.run``.

    Raises:
        ReviewKeyError: the file is missing, not JSON, or lacks ``items`` with a source each.
    """
    fix = "Use the key.json written with the page (python stages/review.py build)."
    if not path.is_file():
        raise ReviewKeyError(f"Key file {path} not found. {fix}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReviewKeyError(f"Key file {path} is not valid JSON ({exc}). {fix}") from exc
    items = raw.get("items") if isinstance(raw, dict) else None
    if not isinstance(items, dict) or not items:
        raise ReviewKeyError(f"Key file {path} has no `items` mapping. {fix}")
    bad = [k for k, v in items.items() if not isinstance(v, dict) or not isinstance(v.get("source"), str)]
    if bad:
        raise ReviewKeyError(f"Key file {path}: items {bad[:5]} have no `source`. {fix}")
    return ReviewKey(
        review_id=str(raw.get("review_id", "")),
        dataset=str(raw.get("dataset", "")),
        sources={k: v["source"] for k, v in items.items()},
    )


#: The leading quote the page's export puts before a cell starting with =, +, -, @, tab or CR.
FORMULA_GUARD = r"^'(?=[=+\-@\t\r])"


def _read_csv(path: Path, problems: list[str]) -> pd.DataFrame | None:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
        return None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(f"{path}: not a readable CSV ({exc})")
        return None
    missing = [c for c in CSV_COLUMNS if c not in df.columns]
    extra = [c for c in df.columns if c not in CSV_COLUMNS]
    if missing or extra:
        problems.append(
            f"{path}: wrong columns (missing {missing}, unexpected {extra}); expected exactly "
            f"{list(CSV_COLUMNS)} as written by the page's Export button"
        )
        return None
    if df.empty:
        problems.append(f"{path}: no ratings in the file")
        return None
    # The page quotes a cell that a spreadsheet would run as a formula ('=...); undo that, then trim.
    df = df.apply(lambda s: s.str.replace(FORMULA_GUARD, "", regex=True).str.strip())
    df.insert(0, "line", df.index + 2)  # header is line 1
    df.insert(0, "file", str(path))
    return df


def _check_rows(df: pd.DataFrame, key: ReviewKey, problems: list[str]) -> None:
    low, high = SCORE_RANGE
    allowed_scores = {str(v) for v in range(low, high + 1)}
    for row in df.itertuples(index=False):
        where = f"{row.file} line {row.line}"
        if not row.reviewer_id:
            problems.append(f"{where}: empty reviewer_id")
        if row.item_id not in key.sources:
            problems.append(f"{where}: unknown item_id '{row.item_id}' (not in the key: another page's export?)")
        for scale in SCALES:
            value = getattr(row, scale)
            if value and value not in allowed_scores:
                problems.append(f"{where}: {scale} '{value}' is not an integer in {low}..{high}")
        if row.guess and row.guess not in GUESSES:
            problems.append(f"{where}: guess '{row.guess}' is not one of {list(GUESSES)}")
        unknown = [f for f in row.flags.split(FLAG_SEPARATOR) if f and f not in FLAGS] if row.flags else []
        if unknown:
            problems.append(f"{where}: unknown flags {unknown} (known: {list(FLAGS)})")
        if row.timestamp and pd.isna(pd.to_datetime(row.timestamp, errors="coerce", utc=True, format="ISO8601")):
            problems.append(f"{where}: timestamp '{row.timestamp}' is not an ISO 8601 date-time")
    dupes = df[df.duplicated(["reviewer_id", "item_id"], keep=False)]
    for (reviewer, item), group in dupes.groupby(["reviewer_id", "item_id"], sort=True):
        at = ", ".join(f"{r.file} line {r.line}" for r in group.itertuples(index=False))
        problems.append(
            f"reviewer '{reviewer}' rated item '{item}' {len(group)} times ({at}); "
            "keep one rating per reviewer and item (e.g. only the latest export)"
        )


def read_ratings(*, paths: Sequence[Path], key: ReviewKey) -> pd.DataFrame:
    """Read and check exported ratings CSVs against the key.

    Args:
        paths: CSV files exported by the review page (one or more reviewers each).
        key: the page's key (``read_key``).

    Returns:
        One row per (reviewer, item): ``reviewer_id``, ``item_id``, ``source``,
        ``realism`` and ``coherence`` (nullable ``Int64``), ``flags`` (tuple of codes),
        ``free_text``, ``guess`` (``real``/``synthetic`` or missing), ``timestamp``.

    Raises:
        RatingsError: listing every problem of every file (wrong columns, unknown item ids,
            duplicate ratings, out-of-range or unknown values).
    """
    if not paths:
        raise RatingsError("No ratings file given.", ["pass one or more CSVs exported by the review page"])
    problems: list[str] = []
    frames = [df for p in paths if (df := _read_csv(Path(p), problems)) is not None]
    if frames:
        _check_rows(pd.concat(frames, ignore_index=True), key, problems)
    if problems:
        raise RatingsError(
            f"{len(problems)} problem(s) in the ratings files; fix them (or re-export from the page) and rerun:",
            problems,
        )
    df = pd.concat(frames, ignore_index=True)
    out = pd.DataFrame(
        {
            "reviewer_id": df["reviewer_id"],
            "item_id": df["item_id"],
            "source": df["item_id"].map(key.sources),
            "realism": pd.to_numeric(df["realism"].replace("", None)).astype("Int64"),
            "coherence": pd.to_numeric(df["coherence"].replace("", None)).astype("Int64"),
            "flags": df["flags"].map(lambda s: tuple(f for f in s.split(FLAG_SEPARATOR) if f)),
            "free_text": df["free_text"],
            "guess": df["guess"].replace("", None),
            "timestamp": df["timestamp"],
        }
    )
    logger.info("Read %d ratings from %d reviewer(s) in %d file(s)", len(out), out["reviewer_id"].nunique(), len(paths))
    return out

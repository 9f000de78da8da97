"""Few-shot examples made from the dataset specification alone, for a table without a prompt folder.

A base model such as Gemma 3 270M does not follow an instruction; it continues a pattern. Given
only the spec-made header and the note's opening (zero-shot), it drifts into lists of column
names, loops and invented facts on a layout it has never seen. Shown a few notes first, it copies
their form. The examples are made here without any record:

- **rows** are drawn from the spec only, with a fixed seed: each categorical column's categories
  in a shuffled turn, so that no value is the same in every example (a yes/no column: mostly no,
  each row drawn on its own; always no for sibling flags such as one per spine level), each
  number uniformly between its bounds (on the log scale for a ``log1p`` column) at its decimals,
  each date between its bounds, a nullable column empty in one example (shown a value in every
  example, the model names the column for a row without one). They are made up, not plausible
  patients: they show the note's form, not clinical patterns;
- **notes** are the fallback notes of those rows (``fallback.py``): every fact the checker reads
  right, so an example never teaches a statement the checker would cut. A yes/no column is stated
  only when yes (the row above the note still shows its no): notes that all said "no intubation",
  "no grafting" taught the model to write so for patients who were (a burns-unit layout: drafts
  contradicting their row 0.17 zero-shot, 0.62 with "no" stated, 0.17 with it left out).

What the model copies from an example that is not in its own row (a category, a number) is
what the checks and the number guard already stop. A dataset whose
``prompts/<dataset>/<version>/examples.yaml`` exists uses those examples instead; ``narrate.spec_examples:
0`` keeps the zero-shot prompt.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import numpy as np
import pandas as pd

from traumasynth.narrate.checking.facts import Lexicon
from traumasynth.narrate.checking.unsupported import SupportRules
from traumasynth.narrate.fallback import FallbackNote
from traumasynth.narrate.prompts.spec_words import yes_no_values
from traumasynth.spec import NUMERIC_KINDS, ColumnSpec, DatasetSpec

#: The draw is the same on every run, so the prompt (and the narration shards' fingerprint) is too.
SEED = 20261207
#: Share of a yes/no column's values that are "no".
_NO = 0.9
#: The closing code that tells sibling flags apart: "_c1", "_2", " L5".
_FLAG_CODE = re.compile(r"[_\s-]*[a-z]{0,2}\d+$")


def made_up_rows(spec: DatasetSpec, count: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """``count`` rows of ``spec``'s modelled columns with values drawn from the spec alone (module docstring).

    Each categorical column (the target too) takes its categories in a shuffled turn, so the rows
    differ in every column that can differ: a base model shown the same value in every example
    copies it instead of reading the row's facts. Yes/no columns are mostly no (``_turn``).
    """
    rows: list[dict[str, Any]] = [{} for _ in range(count)]
    grouped = _flag_groups(spec)
    for column in spec.modelled_columns:
        turn = _turn(column, count, rng, grouped=column.name in grouped)
        # a nullable column is empty in one example (of two or more): a value left out is not stated
        empty = int(rng.integers(count)) if column.nullable and column.role != "target" and count > 1 else -1
        for i, row in enumerate(rows):
            row[column.name] = None if i == empty else turn[i] if turn is not None else _value(column, rng)
    return rows


def _flag_groups(spec: DatasetSpec) -> set[str]:
    """Yes/no columns with siblings: names that differ only in a closing code (``spine_c1`` ... ``spine_c7``)."""
    stems: dict[str, list[str]] = {}
    for column in spec.modelled_columns:
        if yes_no_values(column) is not None:
            stems.setdefault(_FLAG_CODE.sub("", column.name.lower()), []).append(column.name)
    return {name for names in stems.values() if len(names) > 1 for name in names}


def _turn(column: ColumnSpec, count: int, rng: np.random.Generator, *, grouped: bool) -> list[str] | None:
    """A categorical column's values for ``count`` rows (None: not categorical).

    Categories are shuffled and taken in turn. A yes/no column is drawn for each row, "no" at
    ``_NO`` (most flags of a trauma table are no); one of a group of sibling flags is always no:
    examples that say yes to a few spine levels teach Gemma 3 270M to list levels in every note
    (measured on the ICU-registry layout: half of its drafts did).
    """
    if column.kind != "categorical" or not column.categories:
        return None
    yes_no = yes_no_values(column)
    if yes_no is not None and yes_no["yes"] and yes_no["no"]:
        no = 1.0 if grouped else _NO
        return [str(rng.choice(yes_no["no"] if rng.random() < no else yes_no["yes"])) for _ in range(count)]
    shuffled = [str(c) for c in rng.permutation(list(column.categories))]
    return [shuffled[i % len(shuffled)] for i in range(count)]


def _value(column: ColumnSpec, rng: np.random.Generator) -> Any:
    """A number between the column's bounds at its decimals, or a date between its bounds."""
    if column.kind in NUMERIC_KINDS:
        low, high = column.numeric_bounds
        if column.transform == "log1p" and low >= 0:
            value = math.expm1(rng.uniform(math.log1p(low), math.log1p(high)))
        else:
            value = rng.uniform(low, high)
        if column.kind == "integer":
            return float(min(max(round(value), math.ceil(low)), math.floor(high)))
        decimals = column.decimals if column.decimals is not None else 1
        return float(min(max(round(value, decimals), low), high))
    if column.kind == "datetime":
        first, last = column.date_bounds
        start = dt.datetime.combine(first, dt.time())
        span = int((dt.datetime.combine(last, dt.time()) - start).total_seconds())
        stamp = pd.Timestamp(start) + pd.Timedelta(seconds=int(rng.integers(0, max(span, 1))))
        return stamp.floor("min") if "hour" in (column.parts or ()) else stamp.normalize()
    return None


def spec_examples(
    spec: DatasetSpec, count: int, *, lexicon: Lexicon | None, statements: SupportRules | None
) -> list[dict[str, Any]]:
    """``count`` examples ``{"facts": row, "note": text}`` for ``spec``'s prompt (see the module docstring).

    Args:
        spec: the dataset specification (the only thing read).
        count: examples to make (0: none).
        lexicon: the fact lexicon the notes are checked with (the one narration uses).
        statements: the spec's unsupported-statement rules (the ones narration uses).
    """
    if count <= 0:
        return []
    writer = FallbackNote(spec)
    rows = made_up_rows(spec, count, np.random.default_rng(SEED))
    flags = {
        c.name: no for c in spec.modelled_columns if (yes_no := yes_no_values(c)) is not None and (no := yes_no["no"])
    }
    examples = []
    for row in rows:
        # the note states a flag only when yes: shown "no intubation" in every example, the model
        # writes it for intubated patients too (burns layout: 62 % of drafts contradicted their row)
        said = {name: None if name in flags and str(value) in flags[name] else value for name, value in row.items()}
        examples.append({"facts": row, "note": writer.write(said, lexicon=lexicon, statements=statements).text})
    return examples

"""Build the labelled set of the unsupported-statement and loop checks (``labels.jsonl`` beside this file).

    python tests/data/statement_labels/build_set.py

Rows: 80 made-up rows of the ``icu_registry`` layout of ``tools/fake_table.py`` (its spec is copied
to ``icu_registry.yaml`` here), a layout the checkers were not built on. Notes, written by this
script from the row with phrasings drawn at random (``LABELLING.md`` states the rules):

- **faithful**: every number, date and time the row's own, in varied forms (released decimals,
  whole numbers, days for hours, words for numbers, dates in three layouts); label: nothing
  unsupported, no loop.
- **planted**: the faithful note with one error of a kind the issue reports, in the issue's own
  words where it gives them: a wrong number for a column ("was in the ICU for 18 hours"), one
  column's number under another column's name ("13.7 hours of ventilation"), invented dates
  ("treated at 2017-06-19, 2017-06-20, 2017-06-21"), invented counts ("1000 patients", "200 kg"),
  levels the row does not have ("C2 Vertebra, C3 Vertebra, ... N6 vertebra"), a wrong time, and
  loops ("No, No, No, No", "patient, patient, patient"). The error forms were written from the
  issue, not from the checker, and some state a number without a digit ("a week in intensive
  care"): the set measures what the check misses too.
"""

from __future__ import annotations

import importlib.util
import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
N_ROWS = 80
SEED = 20261206
WORDS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen".split()


def _fake_table() -> Any:
    spec = importlib.util.spec_from_file_location("tool_fake_table", REPO / "tools" / "fake_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _levels(row: dict[str, Any]) -> list[int]:
    return [i for i in range(1, 8) if row[f"spine_c{i}"] == "Y"]


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _opening(row: dict[str, Any], r: random.Random) -> str:
    man = row["sex"] == "M"
    mechanism = row["mechanism"].replace("_", " ") if row["mechanism"] != "other" else "injury"
    return r.choice(
        [
            f"{row['age']}-year-old {'man' if man else 'woman'}, {mechanism}.",
            f"{row['age']} yo {'M' if man else 'F'} after {_article(mechanism)} {mechanism}.",
            f"A {row['age']}-year-old {'male' if man else 'female'} admitted after {_article(mechanism)} {mechanism}.",
        ]
    )


def _dates(row: dict[str, Any], r: random.Random) -> str:
    injured, admitted = row["injury_date"], row["admission_time"]
    same_day = injured.date() == admitted.date()
    when = r.choice(
        [
            f"Injured on {injured:%d %B %Y}, admitted {admitted:%Y-%m-%d} at {admitted:%H:%M}.",
            f"Injury {injured:%d/%m/%Y}; admitted {admitted:%d/%m/%Y} {admitted:%H:%M}.",
            f"Admitted on {admitted:%B} {admitted.day}, {admitted.year} at {admitted:%H:%M}"
            + (", the day of the injury." if same_day else f" after injury on {injured:%B} {injured.day}."),
        ]
    )
    return when


def _vitals(row: dict[str, Any], r: random.Random) -> str:
    gcs = row["gcs_ed"]
    parts = []
    if _present(gcs):
        parts.append(r.choice([f"GCS {gcs}", f"GCS {gcs}/15", f"GCS {WORDS[gcs]}" if gcs < 16 else f"GCS {gcs}"]))
    if _present(row["sbp_ed"]):
        parts.append(r.choice([f"SBP {row['sbp_ed']} mmHg", f"systolic blood pressure {row['sbp_ed']}"]))
    if _present(row["weight_kg"]):
        parts.append(r.choice([f"weight {row['weight_kg']:.1f} kg", f"weighs about {round(row['weight_kg'])} kg"]))
    parts.append(r.choice([f"ISS {row['iss']}", f"Injury Severity Score {row['iss']}"]))
    return ", ".join(parts) + "."


def _icu(row: dict[str, Any], r: random.Random) -> str:
    icu, vent = row["icu_hours"], row["ventilation_hours"]
    if not _present(icu):
        return r.choice(["Not admitted to ICU.", "No ICU stay.", "Managed on the ward."])
    forms = [f"{icu:.1f} hours in ICU", f"ICU stay of {round(icu)} h", f"intensive care for {icu:.1f} h"]
    if icu >= 48:
        forms.append(f"{icu / 24:.1f} days in intensive care")
    text = r.choice(forms)
    if _present(vent):
        text += r.choice([f", ventilated for {vent:.1f} hours", f", mechanical ventilation {round(vent)} h"])
    else:
        text += r.choice([", not ventilated", ", no mechanical ventilation", ""])
    return text[0].upper() + text[1:] + "."


def _spine(row: dict[str, Any], r: random.Random) -> str:
    levels = _levels(row)
    if not levels:
        return r.choice(["No cervical spine injury.", "Cervical spine cleared.", ""])
    if len(levels) == 1:
        return r.choice([f"Fracture of C{levels[0]}.", f"C{levels[0]} vertebral fracture."])
    return r.choice([f"Fractures of C{levels[0]} and C{levels[1]}.", f"C{levels[0]}-C{levels[1]} injury."])


def _stay(row: dict[str, Any], r: random.Random) -> str:
    days = row["hospital_days"]
    forms = [f"Hospital stay {days:.1f} days", f"discharged after {round(days)} days"]
    if days < 4:
        forms.append(f"{round(days * 24)} hours in hospital")
    text = r.choice(forms)
    outcome = ", discharged alive." if row["outcome"] == "alive" else ", died in hospital."
    return text[0].upper() + text[1:] + outcome


def faithful_note(row: dict[str, Any], r: random.Random) -> str:
    """A note whose every figure is the row's."""
    parts = [_opening(row, r), _dates(row, r), _vitals(row, r), _icu(row, r), _spine(row, r), _stay(row, r)]
    return " ".join(p for p in parts if p)


def _wrong(value: float, r: random.Random) -> float:
    """A value clearly not ``value`` (not equal after any rounding)."""
    while True:
        other = round(value * r.choice([0.3, 0.5, 1.6, 2.5]) + r.choice([-7, 5, 11]), 0)
        if abs(other - value) >= 3 and other > 0:
            return other


def planted(row: dict[str, Any], note: str, kind: str, r: random.Random) -> str:
    """``note`` with one planted error of ``kind`` (the issue's examples and their general forms)."""
    icu, vent = row["icu_hours"], row["ventilation_hours"]
    admitted = row["admission_time"]
    if kind == "wrong_number":
        choices = [f"Was in the ICU for {_wrong(icu, r):g} hours." if _present(icu) else "ICU for 18 hours.",
                   f"GCS {3 if row['gcs_ed'] != 3 else 9} on arrival.", f"Weight {_wrong(70, r):g} kg.",
                   f"Hospital stay {_wrong(row['hospital_days'], r):g} days.", f"Aged {row['age'] + 12}.",
                   "Spent a week in intensive care." if not _present(icu) or abs(icu - 168) > 24
                   else "ICU 2 hours."]  # fmt: skip
        return f"{note} {r.choice(choices)}"
    if kind == "other_column":
        if _present(icu) and not _present(vent):
            return f"{note} {icu:.1f} hours of ventilation."
        if _present(icu) and _present(vent):
            return f"{note} Ventilated for {icu:.1f} hours."
        return f"{note} ICU stay of {row['hospital_days']:.1f} hours."
    if kind == "invented_date":
        days = [admitted + pd.Timedelta(days=k) for k in (1, 2, 3)]
        return r.choice(
            [
                f"{note} Treated at {days[0]:%Y-%m-%d}, {days[1]:%Y-%m-%d}, {days[2]:%Y-%m-%d}.",
                f"{note} Reviewed in clinic on {days[2]:%d %B %Y}.",
                f"{note} Previous admission on {admitted - pd.Timedelta(days=400):%d/%m/%Y}.",
            ]
        )
    if kind == "invented_count":
        return f"{note} " + r.choice(
            ["One of 1000 patients seen this year.", "Patient weighs 200 kg.", "Received 4 units of blood.",
             "Fell from 5 metres.", "Had 3 previous admissions.", "Lost 800 ml of blood."]
        )  # fmt: skip
    if kind == "spine_levels":
        have = _levels(row)
        extra = [i for i in (2, 3, 4, 5, 7) if i not in have][:4]
        listed = ", ".join(f"C{i} Vertebra" for i in sorted({*have, *extra}))
        return f"{note} {listed}, N6 vertebra."
    if kind == "wrong_time":
        hour = (admitted.hour + r.choice([3, 5, 9])) % 24
        return f"{note} Arrived in the ED at {hour:02d}:{admitted.minute:02d}."
    if kind == "loop":
        return r.choice(
            [f"{note} No, No, No, No, No, No, No", f"{note} The patient, patient, patient, patient",
             f"{note} " + " ".join([note.split('. ')[-1]] * 4)]
        )  # fmt: skip
    raise ValueError(kind)


KINDS = ("wrong_number", "other_column", "invented_date", "invented_count", "spine_levels", "wrong_time", "loop")


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, pd.Timestamp):
            out[key] = value.isoformat(sep=" ")
        elif isinstance(value, float) and math.isnan(value):
            out[key] = None
        elif isinstance(value, np.integer):
            out[key] = int(value)
        else:
            out[key] = value
    return out


def build_items() -> list[dict[str, Any]]:
    """The labelled notes: one faithful note per row, and one with a planted error of each kind in turn."""
    tool = _fake_table()
    frame = tool.icu_registry_rows(n_rows=N_ROWS, rng=np.random.default_rng(SEED))
    rows = [{k: (None if v is pd.NA else v) for k, v in rec.items()} for rec in frame.to_dict(orient="records")]
    r = random.Random(SEED)
    items = []
    for n, row in enumerate(rows):
        row = {k: (int(v) if isinstance(v, np.integer) else v) for k, v in row.items()}
        note = faithful_note(row, r)
        items.append({"id": f"faithful-{n:03d}", "kind": "faithful", "narrative": note, "unsupported": False,
                      "loop": False, "row": _json_row(row)})  # fmt: skip
        kind = KINDS[n % len(KINDS)]
        items.append({"id": f"{kind}-{n:03d}", "kind": kind, "narrative": planted(row, note, kind, r),
                      "unsupported": kind != "loop", "loop": kind == "loop", "row": _json_row(row)})  # fmt: skip
    return items


def main() -> None:
    (HERE / "icu_registry.yaml").write_text(_fake_table().ICU_REGISTRY_SPEC, encoding="utf-8")
    items = build_items()
    with (HERE / "labels.jsonl").open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item) + "\n")
    print(f"{len(items)} labelled notes in {HERE / 'labels.jsonl'}")


if __name__ == "__main__":
    main()

"""The rating form, shared by the page (which asks) and the ingestion (which checks).

Changing a flag code or a column here changes both sides at once.
"""

from __future__ import annotations

#: Columns of an exported ratings CSV, in order.
CSV_COLUMNS: tuple[str, ...] = (
    "reviewer_id",
    "item_id",
    "realism",
    "coherence",
    "flags",
    "free_text",
    "guess",
    "timestamp",
)

#: Separator of flag codes inside the ``flags`` cell.
FLAG_SEPARATOR = ";"

#: Clinical plausibility flags: code -> label shown to the reviewer.
FLAGS: dict[str, str] = {
    "implausible_vitals": "Implausible vital signs",
    "age_injury_mismatch": "Age does not fit the injury",
    "mechanism_injury_mismatch": "Mechanism does not fit the injury",
    "disposition_severity_mismatch": "Disposition inconsistent with severity",
    "narrative_contradicts_table": "Narrative contradicts the table",
}

#: Likert scales: question code -> (legend, {score: anchor label}).
SCALES: dict[str, tuple[str, dict[int, str]]] = {
    "realism": (
        "How realistic is this record?",
        {1: "1 – clearly unrealistic", 2: "2", 3: "3 – could be real", 4: "4", 5: "5 – indistinguishable from real"},
    ),
    "coherence": (
        "How well does the narrative match the table?",
        {1: "1 – contradicts it", 2: "2", 3: "3 – partly", 4: "4", 5: "5 – fully consistent"},
    ),
}

SCORE_RANGE: tuple[int, int] = (1, 5)

#: Answers to "real or synthetic?": code -> label.
GUESSES: dict[str, str] = {"real": "Real patient record", "synthetic": "Synthetic record"}


def form_definition() -> dict:
    """The form as JSON for the page's script."""
    return {
        "csv_columns": list(CSV_COLUMNS),
        "flag_separator": FLAG_SEPARATOR,
        "flags": [[code, label] for code, label in FLAGS.items()],
        "scales": [
            [code, legend, [[score, label] for score, label in anchors.items()]]
            for code, (legend, anchors) in SCALES.items()
        ],
        "guesses": [[code, label] for code, label in GUESSES.items()],
    }

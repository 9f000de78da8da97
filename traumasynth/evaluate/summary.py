"""``data/evaluation/<model>.json``: what the ``compare`` stage needs of one model's evaluation.

The ``evaluate`` stage writes one per model (beside ``metrics/evaluate_<model>.json``); the
``compare`` stage reads those of ``base.models`` and ``baselines.peers`` to draw the utility
plot and write the report. The file is the contract between the two stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traumasynth.core.errors import DataError
from traumasynth.core.io import read_json_object

#: Columns of a utility row, in the order of ``metrics/plots/utility.csv``.
UTILITY_COLUMNS = (
    "label", "model", "setting", "classifier", "macro_f1", "macro_f1_low", "macro_f1_high", "balanced_accuracy",
    "balanced_accuracy_low", "balanced_accuracy_high",
)  # fmt: skip


@dataclass(frozen=True)
class ModelSummary:
    """One model's evaluation, as the comparison reads it.

    Attributes:
        model: the model's name.
        dataset: the dataset it was evaluated on (``base.dataset``).
        rare_classes: classes whose share of the real train rows is below ``evaluate.rare_class_share``.
        utility_rows: rows of ``metrics/plots/utility.csv``: TRTR (``model == "real"``), then the
            model's TSTR and TRTR+S, per classifier, with 95 % intervals.
    """

    model: str
    dataset: str
    rare_classes: list[str]
    utility_rows: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "dataset": self.dataset,
            "rare_classes": self.rare_classes,
            "utility_rows": self.utility_rows,
        }

    @classmethod
    def read(cls, path: Path, *, model: str, stage: str) -> ModelSummary:
        """Read ``path``; a missing or malformed file raises DataError naming ``stage`` to rerun."""
        fix = f"Run `dvc repro {stage}` first."
        if not path.is_file():
            raise DataError(f"{path} is missing (written by `{stage}`). {fix}")
        data = read_json_object(path, fix=fix)
        try:
            summary = cls(
                model=str(data["model"]),
                dataset=str(data["dataset"]),
                rare_classes=[str(c) for c in data["rare_classes"]],
                utility_rows=[dict(row) for row in data["utility_rows"]],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path} is not an evaluation summary ({exc!r}). {fix}") from None
        if summary.model != model:
            raise DataError(f"{path} holds the evaluation of '{summary.model}', not '{model}'. {fix}")
        return summary

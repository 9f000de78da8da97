"""The ``release`` stage: the folder that may leave the institution, with its privacy card.

Everything the pipeline writes stays with the data custodian (``metrics/``, the plots, the
evaluation against real rows, the model files, exact counts and losses) except ``release/``:

- ``synthetic/<model>.parquet`` and ``synthetic/<model>_augment.parquet``: rows drawn from the
  DP model (the spec's modelled columns and its id column);
- ``narratives/<model>.parquet``: the notes written from those synthetic rows (``row_id``,
  ``narrative`` and the fact checker's verdict, computed from the synthetic row only);
- ``dataset_spec.yaml``: the public specification (bounds, levels, roles) the models were built on;
- ``privacy.json`` and ``PRIVACY.md``: the privacy card (ε, δ, unit of privacy, every mechanism
  with its parameters, the composition used, what is not covered).

Every file and field has a provenance (a DP mechanism, post-processing of one, or the public
spec); ``RELEASE_FILES`` and the column lists below are the whole of it, and the tests check a real
release against them.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from traumasynth import layout
from traumasynth.errors import DataError
from traumasynth.io import atomic_dir, read_json_object, write_json_atomic, write_parquet_atomic
from traumasynth.privacy.plan import BudgetPlan
from traumasynth.row_ids import NARRATIVE_ID
from traumasynth.spec import DatasetSpec

log = logging.getLogger(__name__)

#: Columns of a released narratives file: the synthetic row's id, the note, the checker's verdict on it.
NARRATIVE_COLUMNS = (NARRATIVE_ID, "narrative", "faithfulness", "core_faithful")

UNIT_OF_PRIVACY = "one row of the training table (one ED attendance)"
ADJACENCY = "add or remove one row (unbounded DP, as Opacus's accountants assume)"

#: Limits of the guarantee, written into every card.
NOT_COVERED = (
    "The dataset specification (bounds, levels, roles, the public grid) is assumed public knowledge: it is not "
    "a DP output. Do not derive it from the private rows.",
    "Hyper-parameters chosen by looking at results on the private rows: that tuning reads them and is not "
    "counted in ε.",
    "The evaluation against real rows (metrics/, plots, report.md) and the model files stay with the custodian: "
    "they are not DP and are not part of this release.",
    "The training row count is treated as public by the DP-SGD accountant (its sampling rate derives from it); "
    "it is not published here.",
    "Noise is drawn in floating point (continuous Gaussian); attacks on floating-point noise (Mironov 2012) are "
    "outside the model.",
    "A patient with several attendances is protected per attendance only.",
)

#: Fields of ``privacy.json`` and what they are.
CARD_FIELDS = {
    "dataset": "name of the public dataset specification",
    "differentially_private": "every released model was trained with DP",
    "unit_of_privacy": "what one neighbouring dataset adds or removes",
    "adjacency": "the neighbouring relation",
    "epsilon": "total ε of this folder (all models composed)",
    "delta": "total δ of this folder",
    "composition_across_models": "how the models' budgets were composed",
    "models": "per model: its (ε, δ), its composition rule and every mechanism with its parameters",
    "noise": "where the noise came from",
    "rare_class_policy": "how rare classes were handled (merges are named in params, never chosen from counts)",
    "not_covered": "limits of the guarantee",
    "files": "every file of the folder and its provenance",
}


@dataclass(frozen=True)
class ReleaseInputs:
    """What the release reads: the sample and narrate outputs, their metrics, the spec file."""

    synthetic_dir: Path
    narratives_dir: Path
    metrics_dir: Path
    spec_path: Path


def _model_card(model: str, *, metrics_dir: Path) -> dict[str, Any]:
    fix = f"Run `dvc repro sample@{model}`."
    sample = read_json_object(layout.stage_metrics("sample", model, metrics_dir), fix=fix)
    train = read_json_object(
        layout.stage_metrics("train", model, metrics_dir), fix=f"Run `dvc repro train_dp_tabular@{model}`."
    )
    if sample.get("epsilon_total") is None or "budget" not in train:
        return {"differentially_private": False, "epsilon": None, "delta": None, "mechanisms": []}
    try:
        plan = BudgetPlan.from_metrics(train["budget"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"metrics/train_{model}.json has no readable budget plan ({exc!r}). {fix}") from None
    return {
        "differentially_private": True,
        "epsilon": float(sample["epsilon_total"]),
        "delta": float(sample["delta_total"]),
        "epsilon_target": plan.epsilon_target,
        "composition": plan.composition,
        "mechanisms": plan.mechanisms(),
    }


def privacy_card(
    *, spec: DatasetSpec, models: tuple[str, ...], metrics_dir: Path, secure_noise: bool, rare_class_policy: str
) -> dict[str, Any]:
    """The machine-readable privacy card (``privacy.json``) of a release of ``models``."""
    per_model = {m: _model_card(m, metrics_dir=metrics_dir) for m in models}
    private = all(card["differentially_private"] for card in per_model.values())
    not_covered = list(NOT_COVERED)
    card: dict[str, Any] = {
        "dataset": spec.name,
        "differentially_private": private,
        "unit_of_privacy": UNIT_OF_PRIVACY,
        "adjacency": ADJACENCY,
        "epsilon": round(sum(c["epsilon"] for c in per_model.values()), 6) if private else None,
        "delta": sum(c["delta"] for c in per_model.values()) if private else None,
        "composition_across_models": (
            "one model" if len(models) == 1 else "basic composition: the models' ε and δ add up (each read the rows)"
        ),
        "models": per_model,
        "noise": (
            "OS cryptographic RNG for the class histogram; DP-SGD and prior keyed by the custodian's noise key"
            if secure_noise
            else "keyed by the custodian's secret noise key: HMAC-SHA256(key, purpose | seed) seeds each generator"
        ),
        "rare_class_policy": rare_class_policy,
        "not_covered": not_covered,
    }
    card["files"] = release_files(models)
    return card


def release_files(models: tuple[str, ...]) -> dict[str, str]:
    """Every file of a release of ``models`` and its provenance."""
    files = {
        "privacy.json": "this card",
        "PRIVACY.md": "this card, in words",
        "dataset_spec.yaml": "the public dataset specification (not derived from private rows)",
    }
    for m in models:
        files[f"synthetic/{m}.parquet"] = f"rows drawn from the DP model `{m}` (post-processing)"
        files[f"synthetic/{m}_augment.parquet"] = f"rare-class rows drawn from `{m}` at DP counts (post-processing)"
        files[f"narratives/{m}.parquet"] = "notes written by the LLM from synthetic rows only (post-processing)"
    return files


def render_card(card: dict[str, Any]) -> str:
    """``PRIVACY.md``: the card for people."""
    lines = [f"# Privacy card: synthetic `{card['dataset']}` release", ""]
    if card["differentially_private"]:
        lines += [
            f"**({card['epsilon']:.4g}, {card['delta']:.3g})-differential privacy** for {card['unit_of_privacy']}, "
            f"neighbouring datasets: {card['adjacency']}.",
            f"Across models: {card['composition_across_models']}.",
        ]
    else:
        lines += ["**NOT PRIVATE: at least one model was trained without differential privacy. Do not share.**"]
    lines += ["", "| model | ε | δ | composition | mechanisms |", "|---|---|---|---|---|"]
    for name, m in card["models"].items():
        if not m["differentially_private"]:
            lines.append(f"| {name} | none | none | no DP | – |")
            continue
        mech = "; ".join(
            f"{x['name']} (σ/Δ {x['noise_multiplier']:.3g}"
            + (f", rate {x['sample_rate']:.4g}, {x['steps']} steps" if "steps" in x else "")
            + ")"
            for x in m["mechanisms"]
        )
        lines.append(f"| {name} | {m['epsilon']:.4g} | {m['delta']:.3g} | {m['composition']} | {mech} |")
    lines += ["", f"Noise: {card['noise']}.", "", "## Not covered", ""]
    lines += [f"- {item}" for item in card["not_covered"]]
    lines += ["", "## Files", ""]
    lines += [f"- `{path}`: {what}" for path, what in card["files"].items()]
    return "\n".join(lines) + "\n"


def build_release(
    *,
    spec: DatasetSpec,
    models: tuple[str, ...],
    inputs: ReleaseInputs,
    out_dir: Path,
    secure_noise: bool = False,
    rare_class_policy: str = "error: nothing is merged",
) -> dict[str, Any]:
    """Write ``out_dir`` (swapped in whole: a failure leaves the previous release) and return the card.

    Raises:
        DataError: an input is missing or malformed (the message names the stage to run).
    """
    if not models:
        raise DataError("Nothing to release: base.models is empty.")
    modelled = [c.name for c in spec.modelled_columns]
    id_columns = [spec.id_column.name] if spec.id_column is not None else []
    tables: dict[str, pd.DataFrame] = {}
    for m in models:
        for path in (layout.synthetic(m, inputs.synthetic_dir), layout.augment(m, inputs.synthetic_dir)):
            if not path.is_file():
                raise DataError(f"{path} is missing. Run `dvc repro sample@{m}`.")
            df = pd.read_parquet(path)
            tables[f"synthetic/{path.name}"] = df[[c for c in id_columns + modelled if c in df.columns]]
        path = layout.narratives(m, inputs.narratives_dir)
        if not path.is_file():
            raise DataError(f"{path} is missing. Run `dvc repro narrate@{m}`.")
        narratives = pd.read_parquet(path)
        missing = [c for c in NARRATIVE_COLUMNS if c not in narratives.columns]
        if missing:
            raise DataError(f"{path} lacks {', '.join(missing)}. Run `dvc repro narrate@{m}`.")
        tables[f"narratives/{m}.parquet"] = narratives[list(NARRATIVE_COLUMNS)]
    card = privacy_card(
        spec=spec, models=models, metrics_dir=inputs.metrics_dir, secure_noise=secure_noise,
        rare_class_policy=rare_class_policy,
    )  # fmt: skip
    with atomic_dir(out_dir) as tmp:
        for rel, df in tables.items():
            write_parquet_atomic(df, tmp / rel)
        shutil.copyfile(inputs.spec_path, tmp / "dataset_spec.yaml")
        write_json_atomic(card, tmp / "privacy.json")
        (tmp / "PRIVACY.md").write_text(render_card(card))
    if not card["differentially_private"]:
        log.warning("%s holds output of a model trained without DP: do not share it", out_dir)
    return card

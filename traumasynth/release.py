"""The ``release`` stage: the folder that may leave the institution, with its privacy card.

Everything the pipeline writes stays with the data custodian (``metrics/``, the plots, the
evaluation against real rows, the model files, exact counts and losses) except ``release/``:

- ``synthetic/<model>.parquet`` and ``synthetic/<model>_augment.parquet``: rows drawn from the
  DP model (:data:`RELEASE_ID` and the spec's modelled columns, numbers at the spec's ``decimals``);
- ``narratives/<model>.parquet``: the notes written from those synthetic rows (:data:`RELEASE_ID`,
  ``narrative`` and the fact checker's verdict, computed from the synthetic row only);
- ``dataset_spec.yaml``: the public specification (bounds, levels, roles) the models were built on: the
  file as written, or, when ``prepare.merge_classes`` folded classes, the spec without them;
- ``privacy.json`` and ``PRIVACY.md``: the privacy card (ε, δ, unit of privacy, every mechanism
  with its parameters, the composition used, what is not covered).

Every file and field has a provenance (a DP mechanism, post-processing of one, or the public
spec); ``release_files`` and the column lists below are the whole of it, and the tests check a real
release against them.

Every released file names a synthetic row in one column, :data:`RELEASE_ID` (``patient_id``:
``vae-000001``...), so the tables and the notes join on it. Upstream the sample stage writes that id
under the spec's identifier column and narrate under ``row_id`` (``traumasynth.spec.ids``); the
release renames both. A spec without an identifier column gets the names narrate gives rows (by
position, ``row-000000``...; the augment table's continue after the main table's). Numeric columns
are rounded to the spec's ``decimals``, and values past a column's ``top_code`` or ``bottom_code`` set to
the code, here only: the custodian's ``data/`` keeps full precision, so the evaluation is unchanged.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from traumasynth.core import layout
from traumasynth.core.errors import DataError
from traumasynth.core.io import atomic_dir, read_json_object, write_json_atomic, write_parquet_atomic
from traumasynth.privacy.plan import BudgetPlan, compose_releases
from traumasynth.spec import NUMERIC_KINDS, ColumnSpec, DatasetSpec
from traumasynth.spec.coded import write_coded
from traumasynth.spec.ids import NARRATIVE_ID, id_column, row_ids
from traumasynth.spec.loading import load_spec, spec_yaml

log = logging.getLogger(__name__)

#: The id column of every released file: the synthetic patient's (``<model>-000001``...).
RELEASE_ID = "patient_id"

#: Columns of a released narratives file: the synthetic row's id, the note, the checker's verdict on it.
NARRATIVE_COLUMNS = (RELEASE_ID, "narrative", "faithfulness", "core_faithful")

#: The same columns as the narrate stage writes them.
_NARRATE_COLUMNS = (NARRATIVE_ID, *NARRATIVE_COLUMNS[1:])

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
    "it is not published here, nor are DP-SGD's sampling rate and step count (with the batch size they would give "
    "it to within one batch). The synthetic tables' sizes are DP estimates of it.",
    "Every release that leaves composes with this one: a rerun on updated data, at another ε, with another "
    "base.seed or of another model spends its own budget on the rows they share. Each release draws fresh noise "
    "(so two releases cannot be differenced or solved for the true counts), but their ε still add up.",
    "Decisions the custodian made by looking at the private rows: classes folded with prepare.merge_classes after "
    "prepare named them as too rare, bounds or levels of the specification set from the data, the choice of "
    "min_class_rows. They are not counted in ε. (Values outside the specification's bounds are clipped to them, "
    "not used to widen them.)",
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
    "epsilon": "ε of this folder: every model's mechanisms composed (each model draws its own noise)",
    "delta": "δ of this folder (the models' δ added)",
    "composition_across_models": "how the models' budgets were composed",
    "epsilon_per_model": "the ε each model was given (train_dp_tabular.epsilon); the folder composes to more",
    "models": "per model: its (ε, δ), its composition rule and every mechanism with its parameters",
    "noise": "where the noise came from, and why it is fresh for every release",
    "rare_class_policy": "how rare classes were handled (a merge chosen after seeing prepare's message is not covered)",
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


#: Why two releases cannot be differenced (``traumasynth.privacy.keys.release_seed``).
FRESH_NOISE = (
    "The release seed hashes base.seed, the model, the private rows read and every budget and sampling parameter: "
    "an unchanged pipeline gives the same bytes, any other release draws fresh, independent noise, and the models "
    "of one run draw independent noise"
)


def _model_plan(model: str, *, metrics_dir: Path) -> BudgetPlan | None:
    """The budget plan training recorded for ``model`` (``None`` without DP)."""
    fix = f"Run `dvc repro train_dp_tabular@{model}`."
    train = read_json_object(layout.stage_metrics("train", model, metrics_dir), fix=fix)
    if train.get("budget") is None:
        return None
    try:
        return BudgetPlan.from_metrics(train["budget"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"metrics/train_{model}.json has no readable budget plan ({exc!r}). {fix}") from None


def _model_card(model: str, *, plan: BudgetPlan | None, metrics_dir: Path) -> dict[str, Any]:
    sample = read_json_object(
        layout.stage_metrics("sample", model, metrics_dir), fix=f"Run `dvc repro sample@{model}`."
    )
    if sample.get("epsilon_total") is None or plan is None:
        return {"differentially_private": False, "epsilon": None, "delta": None, "mechanisms": []}
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
    plans = {m: _model_plan(m, metrics_dir=metrics_dir) for m in models}
    per_model = {m: _model_card(m, plan=plans[m], metrics_dir=metrics_dir) for m in models}
    private = all(card["differentially_private"] for card in per_model.values())
    epsilon = delta = None
    composition = "none: a model was trained without differential privacy"
    if private:
        epsilon, delta, composition = compose_releases([p for p in plans.values() if p is not None])
    not_covered = list(NOT_COVERED)
    card: dict[str, Any] = {
        "dataset": spec.name,
        "differentially_private": private,
        "unit_of_privacy": UNIT_OF_PRIVACY,
        "adjacency": ADJACENCY,
        "epsilon": None if epsilon is None else round(epsilon, 6),
        "delta": delta,
        "composition_across_models": "one model" if len(models) == 1 else composition,
        "epsilon_per_model": sorted({c["epsilon_target"] for c in per_model.values() if c["differentially_private"]}),
        "models": per_model,
        "noise": (
            "the class histogram from the OS cryptographic RNG; DP-SGD (noise and Poisson batches) and the prior "
            f"keyed by the custodian's noise key. {FRESH_NOISE}"
            if secure_noise
            else "every generator keyed by the custodian's secret noise key: HMAC-SHA256(key, purpose | release seed). "
            + FRESH_NOISE
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
            f"Each model was given ε = {', '.join(f'{e:g}' for e in card['epsilon_per_model'])} "
            "(`train_dp_tabular.epsilon`); the folder's ε above is what they compose to.",
        ]
    else:
        lines += ["**NOT PRIVATE: at least one model was trained without differential privacy. Do not share.**"]
    lines += ["", "| model | ε | δ | composition | mechanisms |", "|---|---|---|---|---|"]
    for name, m in card["models"].items():
        if not m["differentially_private"]:
            lines.append(f"| {name} | none | none | no DP | – |")
            continue
        mech = "; ".join(f"{x['name']} (σ/Δ {x['noise_multiplier']:.3g})" for x in m["mechanisms"])
        lines.append(f"| {name} | {m['epsilon']:.4g} | {m['delta']:.3g} | {m['composition']} | {mech} |")
    lines += ["", f"Noise: {card['noise']}.", "", "## Not covered", ""]
    lines += [f"- {item}" for item in card["not_covered"]]
    lines += ["", "## Files", ""]
    lines += [f"- `{path}`: {what}" for path, what in card["files"].items()]
    return "\n".join(lines) + "\n"


def decimals(column: ColumnSpec) -> int:
    """Decimal places of a numeric column in the release: its ``decimals``, else 0 for an integer, 1 otherwise."""
    if column.decimals is not None:
        return column.decimals
    return 0 if column.kind == "integer" else 1


def rounded_as_released(values: pd.Series, column: ColumnSpec) -> pd.Series:
    """A numeric column's values at the decimals the release gives them (anything else as it is)."""
    if column.kind in NUMERIC_KINDS and pd.api.types.is_float_dtype(values):
        return values.round(decimals(column))
    return values


def released_table(frame: pd.DataFrame, *, spec: DatasetSpec, first_position: int = 0) -> pd.DataFrame:
    """A synthetic table as released: :data:`RELEASE_ID`, then the modelled columns, numbers rounded.

    Args:
        frame: a table of the sample stage.
        spec: its dataset specification (the columns kept, their ``decimals``).
        first_position: where the positional names (``row-000000``...) of a table without the
            spec's identifier start: 0 for the main table, its length for the augment table.

    Raises:
        DataError: a modelled column is itself called :data:`RELEASE_ID`, or a categorical column holds a
            value the spec does not list.
    """
    modelled = [c for c in spec.modelled_columns if c.name in frame.columns]
    if any(c.name == RELEASE_ID for c in modelled):
        raise DataError(f"The modelled column '{RELEASE_ID}' would clash with the release's id column; rename it.")
    if id_column(frame, spec) is not None:
        ids = row_ids(frame, spec)
    else:  # named by position, as traumasynth.spec.ids names them
        ids = [f"row-{i:06d}" for i in range(first_position, first_position + len(frame))]
    out = pd.DataFrame({RELEASE_ID: pd.Series(ids, index=frame.index, dtype="str")})
    for col in modelled:
        if col.kind == "categorical" and (unknown := _unknown_categories(frame, col)):
            raise DataError(
                f"The synthetic table holds {', '.join(unknown)} in '{col.name}', not categories of the spec "
                "(sampled before prepare.merge_classes or the spec changed). Run `dvc repro` to sample again."
            )
        values = frame[col.name]
        if col.kind in NUMERIC_KINDS:
            values = write_coded(values, col)  # no value past the source's top or bottom code
        out[col.name] = rounded_as_released(values, col)
    return out.reset_index(drop=True)


def write_spec(spec: DatasetSpec, *, written: Path, path: Path) -> None:
    """The released spec: the file as written (comments kept), or ``spec`` itself where it differs (classes
    folded by ``prepare.merge_classes``): the release never lists a class its tables cannot hold."""
    if load_spec(written) == spec:
        shutil.copyfile(written, path)
        return
    header = f"{written.name} as the released tables follow it: without the classes folded by prepare.merge_classes."
    path.write_text(spec_yaml(spec, header=header))


def _unknown_categories(frame: pd.DataFrame, column: ColumnSpec) -> list[str]:
    values = frame[column.name].dropna()
    return sorted(set(values[~values.isin(column.categories or ())].astype(str)))


def released_narratives(path: Path, *, model: str) -> pd.DataFrame:
    """The narrate stage's notes of ``model`` as released: :data:`NARRATIVE_COLUMNS`.

    Raises:
        DataError: the file is missing or lacks a column (the message names the stage to run).
    """
    if not path.is_file():
        raise DataError(f"{path} is missing. Run `dvc repro narrate@{model}`.")
    narratives = pd.read_parquet(path)
    missing = [c for c in _NARRATE_COLUMNS if c not in narratives.columns]
    if missing:
        raise DataError(f"{path} lacks {', '.join(missing)}. Run `dvc repro narrate@{model}`.")
    return narratives[list(_NARRATE_COLUMNS)].rename(columns={NARRATIVE_ID: RELEASE_ID})


def _released_tables(*, spec: DatasetSpec, models: tuple[str, ...], inputs: ReleaseInputs) -> dict[str, pd.DataFrame]:
    """Every table of the release, by its path in the folder."""
    tables: dict[str, pd.DataFrame] = {}
    for m in models:
        main_path, augment_path = layout.synthetic(m, inputs.synthetic_dir), layout.augment(m, inputs.synthetic_dir)
        for path in (main_path, augment_path):
            if not path.is_file():
                raise DataError(f"{path} is missing. Run `dvc repro sample@{m}`.")
        main = pd.read_parquet(main_path)
        tables[f"synthetic/{main_path.name}"] = released_table(main, spec=spec)
        augment = released_table(pd.read_parquet(augment_path), spec=spec, first_position=len(main))
        tables[f"synthetic/{augment_path.name}"] = augment
        tables[f"narratives/{m}.parquet"] = released_narratives(layout.narratives(m, inputs.narratives_dir), model=m)
    return tables


def run(
    *,
    spec: DatasetSpec,
    models: tuple[str, ...],
    inputs: ReleaseInputs,
    out_dir: Path,
    secure_noise: bool = False,
    rare_class_policy: str = "error: nothing is merged",
) -> dict[str, Any]:
    """Write ``out_dir`` (swapped in whole: a failure leaves the previous release) and return the card.

    Args:
        spec: the public dataset specification (copied into the release).
        models: the models released (``base.models``).
        inputs: the sample and narrate outputs, the metrics, the spec file.
        out_dir: the release folder, replaced whole.
        secure_noise: whether the class histogram drew from the OS's cryptographic RNG (``sample``).
        rare_class_policy: how rare classes were handled, in words (``prepare``).

    Raises:
        DataError: an input is missing or malformed (the message names the stage to run).
    """
    if not models:
        raise DataError("Nothing to release: base.models is empty.")
    tables = _released_tables(spec=spec, models=models, inputs=inputs)
    card = privacy_card(
        spec=spec, models=models, metrics_dir=inputs.metrics_dir, secure_noise=secure_noise,
        rare_class_policy=rare_class_policy,
    )  # fmt: skip
    with atomic_dir(out_dir) as tmp:
        for rel, df in tables.items():
            write_parquet_atomic(df, tmp / rel)
        write_spec(spec, written=inputs.spec_path, path=tmp / "dataset_spec.yaml")
        write_json_atomic(card, tmp / "privacy.json")
        (tmp / "PRIVACY.md").write_text(render_card(card))
    if not card["differentially_private"]:
        log.warning("%s holds output of a model trained without DP: do not share it", out_dir)
    return card

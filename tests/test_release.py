"""The release folder and its privacy card on small hand-made stage outputs (a real one: test_pipeline_e2e.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from tests.conftest import DATASETS
from traumasynth.core.errors import DataError
from traumasynth.datasets.ed_trauma_sim import simulate
from traumasynth.prepare import PrepareParams
from traumasynth.privacy.plan import SGDShape, plan_budget
from traumasynth.release import (
    CARD_FIELDS,
    NARRATIVE_COLUMNS,
    RELEASE_ID,
    ReleaseInputs,
    decimals,
    release_files,
    run,
)
from traumasynth.spec import ColumnSpec, DatasetSpec, load_spec
from traumasynth.spec.merge import ClassMerge


def _stage_outputs(
    root: Path, spec: DatasetSpec, model: str, *, epsilon: float | None, id_name: str | None = "patient_id"
) -> None:
    """What sample, narrate and train write for ``model``; ``id_name`` None: a table without identifier."""
    modelled = [c.name for c in spec.modelled_columns]
    rows = simulate(n_rows=60, seed=4, spec=spec)[modelled]
    rows["temperature"] += 0.0123456789  # float noise, as a model's decoder leaves it
    rows["length_of_stay_h"] *= 1.0123456789
    ids = [f"{model}-{i:06d}" for i in range(len(rows) + 5)]
    if id_name is not None:
        rows.insert(0, id_name, ids[: len(rows)])
    rows["not_in_spec"] = 1.0  # a stray column must not leave
    (root / "synthetic").mkdir(parents=True, exist_ok=True)
    rows.to_parquet(root / f"synthetic/{model}.parquet", index=False)
    augment = rows.iloc[:5].copy()
    if id_name is not None:
        augment[id_name] = ids[len(rows) :]
    augment.to_parquet(root / f"synthetic/{model}_augment.parquet", index=False)
    named = ids[:4] if id_name is not None else [f"row-{i:06d}" for i in range(4)]  # traumasynth.spec.ids
    notes = pd.DataFrame({"row_id": named[::-1], "narrative": ["note"] * 4, "faithfulness": 1.0,
                          "core_faithful": True, "seconds": 2.0, "completion_tokens": 30})  # fmt: skip
    (root / "narratives").mkdir(parents=True, exist_ok=True)
    notes.to_parquet(root / f"narratives/{model}.parquet", index=False)
    train: dict = {"n_rows": 4817, "final_loss": 5.0, "epsilon": epsilon}
    sample: dict = {"epsilon_total": None, "delta_total": None, "rows": 60}
    if epsilon is not None:
        plan = plan_budget(
            epsilon=epsilon, delta=1e-5, histogram_share=0.02, prior_share=0.8,
            sgd=SGDShape.for_loader(n_rows=4817, batch_size=77, epochs=3),
        )  # fmt: skip
        train["budget"] = plan.to_metrics()
        sample.update(epsilon_total=plan.epsilon, delta_total=1e-5)
    (root / "metrics").mkdir(exist_ok=True)
    (root / f"metrics/train_{model}.json").write_text(json.dumps(train))
    (root / f"metrics/sample_{model}.json").write_text(json.dumps(sample))


def _inputs(root: Path) -> ReleaseInputs:
    return ReleaseInputs(
        synthetic_dir=root / "synthetic", narratives_dir=root / "narratives", metrics_dir=root / "metrics",
        spec_path=DATASETS / "ed_trauma_sim.yaml",
    )  # fmt: skip


def _all_text(folder: Path) -> str:
    return "\n".join(p.read_text() for p in folder.rglob("*") if p.suffix in (".json", ".md", ".yaml"))


def test_release_holds_only_files_and_fields_with_a_provenance(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    for model in ("vae", "ddpm"):
        _stage_outputs(tmp_path, sim_spec, model, epsilon=1.0)
    card = run(spec=sim_spec, models=("vae", "ddpm"), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel")
    out = tmp_path / "rel"
    assert {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} == set(release_files(("vae", "ddpm")))
    assert set(card) == set(CARD_FIELDS)
    allowed = {RELEASE_ID, *(c.name for c in sim_spec.modelled_columns)}
    assert set(pd.read_parquet(out / "synthetic/vae.parquet").columns) <= allowed
    assert list(pd.read_parquet(out / "narratives/ddpm.parquet").columns) == list(NARRATIVE_COLUMNS)
    text = _all_text(out)
    assert not re.search(r"(?<![\d.])4817(?![\d.])", text)  # the exact row count stays home ...
    assert "final_loss" not in text and "n_rows" not in text  # ... and so does the loss
    assert "sample_rate" not in text and "steps" not in text  # with the batch size they would give n
    # two models at ε = 1, each with its own noise: the folder composes to more than 1, less than the sum
    assert card["differentially_private"] and 1.0 < card["epsilon"] < 2.0 and card["delta"] == pytest.approx(2e-5)
    assert (
        card["epsilon_per_model"] == [1.0] and "every model's mechanisms composed" in card["composition_across_models"]
    )
    assert [m["name"] for m in card["models"]["vae"]["mechanisms"]] == ["class histogram", "marginal prior", "DP-SGD"]
    page = (out / "PRIVACY.md").read_text()
    assert f"({card['epsilon']:.4g}, 2e-05)-differential privacy" in page and "Each model was given ε = 1" in page
    # what the user must know to keep the promise: fresh noise, composition across releases, decisions on counts
    assert "fresh, independent noise" in card["noise"]
    assert any("Every release that leaves composes" in item for item in card["not_covered"])
    assert any("merge_classes" in item and "bounds" in item for item in card["not_covered"])


def test_a_model_without_dp_makes_the_card_say_not_private(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    _stage_outputs(tmp_path, sim_spec, "vae", epsilon=None)
    card = run(spec=sim_spec, models=("vae",), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel")
    assert card["differentially_private"] is False and card["epsilon"] is None
    assert "NOT PRIVATE" in (tmp_path / "rel/PRIVACY.md").read_text()


def test_merge_policy_is_on_the_card(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    _stage_outputs(tmp_path, sim_spec, "vae", epsilon=1.0)
    policy = PrepareParams(rare_class_policy="merge", merge_classes=("work",), merge_into="fall").merge_description()
    card = run(
        spec=sim_spec, models=("vae",), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel", rare_class_policy=policy
    )
    assert card["rare_class_policy"].startswith("merge: work folded into fall (named in params")
    assert "not covered" in card["rare_class_policy"]  # a merge chosen after prepare named the class


def test_missing_narratives_leave_the_previous_release_whole(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    _stage_outputs(tmp_path, sim_spec, "vae", epsilon=1.0)
    run(spec=sim_spec, models=("vae",), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel")
    before = {p: p.read_bytes() for p in (tmp_path / "rel").rglob("*") if p.is_file()}
    (tmp_path / "narratives/vae.parquet").unlink()
    with pytest.raises(DataError, match=r"narrate@vae"):
        run(spec=sim_spec, models=("vae",), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel")
    assert {p: p.read_bytes() for p in (tmp_path / "rel").rglob("*") if p.is_file()} == before


def _joined(out: Path, model: str) -> pd.DataFrame:
    """The user's first join: a released table and its notes, on the one column they share."""
    synthetic = pd.read_parquet(out / f"synthetic/{model}.parquet")
    notes = pd.read_parquet(out / f"narratives/{model}.parquet")
    assert set(synthetic.columns) & set(notes.columns) == {RELEASE_ID} == {"patient_id"}
    joined = synthetic.merge(notes, on=RELEASE_ID, how="inner", validate="one_to_one")
    assert len(joined) == len(notes) == 4  # every narrated row, once
    return joined


def test_tables_and_notes_join_on_one_id_column(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    _stage_outputs(tmp_path, sim_spec, "vae", epsilon=1.0)
    run(spec=sim_spec, models=("vae",), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel")
    joined = _joined(tmp_path / "rel", "vae")
    assert sorted(joined[RELEASE_ID]) == [f"vae-{i:06d}" for i in range(4)]
    augment = pd.read_parquet(tmp_path / "rel/synthetic/vae_augment.parquet")
    assert list(augment.columns)[0] == RELEASE_ID and augment[RELEASE_ID].iloc[0] == "vae-000060"


def test_a_spec_without_identifier_names_rows_as_narrate_does(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    spec = sim_spec.model_copy(update={"columns": tuple(c for c in sim_spec.columns if c.kind != "identifier")})
    assert spec.id_column is None
    _stage_outputs(tmp_path, spec, "vae", epsilon=1.0, id_name=None)
    run(spec=spec, models=("vae",), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel")
    assert sorted(_joined(tmp_path / "rel", "vae")[RELEASE_ID]) == [f"row-{i:06d}" for i in range(4)]
    main = pd.read_parquet(tmp_path / "rel/synthetic/vae.parquet")[RELEASE_ID]
    augment = pd.read_parquet(tmp_path / "rel/synthetic/vae_augment.parquet")[RELEASE_ID]
    assert main.iloc[-1] == "row-000059" and augment.tolist() == [f"row-{i:06d}" for i in range(60, 65)]


def test_numbers_are_released_at_the_spec_precision_and_kept_whole_at_home(
    tmp_path: Path, sim_spec: DatasetSpec
) -> None:
    _stage_outputs(tmp_path, sim_spec, "vae", epsilon=1.0)
    kept = pd.read_parquet(tmp_path / "synthetic/vae.parquet")
    run(spec=sim_spec, models=("vae",), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel")
    for name in ("vae.parquet", "vae_augment.parquet"):
        released = pd.read_parquet(tmp_path / "rel/synthetic" / name)
        for col in sim_spec.modelled_columns:
            if col.kind not in ("integer", "continuous"):
                continue
            values = released[col.name].dropna().astype(float)
            places = decimals(col)
            assert (values == values.round(places)).all(), col.name
            assert all(len(repr(v).split(".")[1].rstrip("0")) <= places for v in values), col.name
    released = pd.read_parquet(tmp_path / "rel/synthetic/vae.parquet")
    assert decimals(sim_spec.column("temperature")) == 1 and decimals(sim_spec.column("length_of_stay_h")) == 1
    assert released["temperature"].equals(kept["temperature"].round(1))
    assert not np.allclose(kept["temperature"].dropna() * 10 % 1, 0)  # the custodian's copy is untouched
    assert pd.read_parquet(tmp_path / "synthetic/vae.parquet").equals(kept)
    assert released["age"].dtype == kept["age"].dtype  # integers stay integers


def test_decimals_default_from_the_kind_and_never_change_the_spec_hash(sim_spec: DatasetSpec) -> None:
    assert decimals(sim_spec.column("age")) == 0
    column = sim_spec.column("temperature")
    assert decimals(column.model_copy(update={"decimals": None})) == 1
    assert decimals(column.model_copy(update={"decimals": 2})) == 2
    columns = tuple(c.model_copy(update={"decimals": 3}) if c.name == "temperature" else c for c in sim_spec.columns)
    assert sim_spec.model_copy(update={"columns": columns}).spec_hash == sim_spec.spec_hash
    with pytest.raises(ValidationError, match="`decimals` is only for numeric columns"):
        ColumnSpec(name="sex", kind="categorical", categories=("f", "m"), description="Sex.", decimals=1)


def test_values_past_a_top_code_are_released_as_the_code(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    """A source that top-codes age at 90: the release never shows an age the source could not hold."""
    _stage_outputs(tmp_path, sim_spec, "vae", epsilon=1.0)
    kept = pd.read_parquet(tmp_path / "synthetic/vae.parquet")
    kept.loc[:4, "age"] = 97
    kept.to_parquet(tmp_path / "synthetic/vae.parquet", index=False)
    columns = tuple(
        ColumnSpec.model_validate(c.model_dump() | {"top_code": {"value": 90, "label": ">89"}})
        if c.name == "age"
        else c
        for c in sim_spec.columns
    )
    coded = sim_spec.model_copy(update={"columns": columns})
    run(spec=coded, models=("vae",), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel")
    released = pd.read_parquet(tmp_path / "rel/synthetic/vae.parquet")
    assert released["age"].max() == 90 and (released["age"].iloc[:5] == 90).all()
    assert released["age"].dtype == kept["age"].dtype
    assert pd.read_parquet(tmp_path / "synthetic/vae.parquet")["age"].max() == 97  # the custodian's copy is whole


def test_a_merged_spec_is_released_and_a_table_sampled_before_the_merge_is_refused(
    tmp_path: Path, sim_spec: DatasetSpec
) -> None:
    _stage_outputs(tmp_path, sim_spec, "vae", epsilon=1.0)
    merged = ClassMerge(rare_class_policy="merge", merge_classes=("work",), merge_into="fall").apply(sim_spec)
    with pytest.raises(DataError, match="holds work in 'mechanism', not categories of the spec"):
        run(spec=merged, models=("vae",), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel")
    assert not (tmp_path / "rel").exists()
    for name in ("vae.parquet", "vae_augment.parquet"):  # as sample writes them under the merged spec
        table = pd.read_parquet(tmp_path / "synthetic" / name)
        table.loc[table["mechanism"] == "work", "mechanism"] = "fall"
        table.to_parquet(tmp_path / "synthetic" / name, index=False)
    run(spec=merged, models=("vae",), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel")
    released = load_spec(tmp_path / "rel" / "dataset_spec.yaml")
    assert released == merged and "work" not in released.classes

"""The release folder and its privacy card on small hand-made stage outputs (a real one: test_pipeline_e2e.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import DATASETS
from traumasynth.datasets.ed_trauma_sim import simulate
from traumasynth.errors import DataError
from traumasynth.prepare import PrepareParams
from traumasynth.privacy.plan import SGDShape, plan_budget
from traumasynth.release import CARD_FIELDS, NARRATIVE_COLUMNS, ReleaseInputs, build_release, release_files
from traumasynth.spec import DatasetSpec


def _stage_outputs(root: Path, spec: DatasetSpec, model: str, *, epsilon: float | None) -> None:
    modelled = [c.name for c in spec.modelled_columns]
    rows = simulate(n_rows=60, seed=4, spec=spec)[modelled]
    rows.insert(0, "patient_id", [f"{model}-{i:06d}" for i in range(len(rows))])
    rows["not_in_spec"] = 1.0  # a stray column must not leave
    (root / "synthetic").mkdir(parents=True, exist_ok=True)
    rows.to_parquet(root / f"synthetic/{model}.parquet", index=False)
    rows.iloc[:5].to_parquet(root / f"synthetic/{model}_augment.parquet", index=False)
    notes = pd.DataFrame({"row_id": rows["patient_id"].iloc[:4], "narrative": ["note"] * 4, "faithfulness": 1.0,
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
    card = build_release(spec=sim_spec, models=("vae", "ddpm"), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel")
    out = tmp_path / "rel"
    assert {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} == set(release_files(("vae", "ddpm")))
    assert set(card) == set(CARD_FIELDS)
    allowed = {"patient_id", *(c.name for c in sim_spec.modelled_columns)}
    assert set(pd.read_parquet(out / "synthetic/vae.parquet").columns) <= allowed
    assert list(pd.read_parquet(out / "narratives/ddpm.parquet").columns) == list(NARRATIVE_COLUMNS)
    text = _all_text(out)
    assert not re.search(r"(?<![\d.])4817(?![\d.])", text)  # the exact row count stays home ...
    assert "final_loss" not in text and "n_rows" not in text  # ... and so does the loss
    assert card["differentially_private"] and card["epsilon"] <= 2.0 and card["delta"] == pytest.approx(2e-5)
    assert [m["name"] for m in card["models"]["vae"]["mechanisms"]] == ["class histogram", "marginal prior", "DP-SGD"]
    assert "(2, 2e-05)-differential privacy" in (out / "PRIVACY.md").read_text()


def test_a_model_without_dp_makes_the_card_say_not_private(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    _stage_outputs(tmp_path, sim_spec, "vae", epsilon=None)
    card = build_release(spec=sim_spec, models=("vae",), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel")
    assert card["differentially_private"] is False and card["epsilon"] is None
    assert "NOT PRIVATE" in (tmp_path / "rel/PRIVACY.md").read_text()


def test_merge_policy_is_on_the_card(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    _stage_outputs(tmp_path, sim_spec, "vae", epsilon=1.0)
    policy = PrepareParams(rare_class_policy="merge", merge_classes=("work",), merge_into="fall").merge_description()
    card = build_release(
        spec=sim_spec, models=("vae",), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel", rare_class_policy=policy
    )
    assert card["rare_class_policy"] == "merge: work folded into fall (named in params, not from counts)"


def test_missing_narratives_leave_the_previous_release_whole(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    _stage_outputs(tmp_path, sim_spec, "vae", epsilon=1.0)
    build_release(spec=sim_spec, models=("vae",), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel")
    before = {p: p.read_bytes() for p in (tmp_path / "rel").rglob("*") if p.is_file()}
    (tmp_path / "narratives/vae.parquet").unlink()
    with pytest.raises(DataError, match=r"narrate@vae"):
        build_release(spec=sim_spec, models=("vae",), inputs=_inputs(tmp_path), out_dir=tmp_path / "rel")
    assert {p: p.read_bytes() for p in (tmp_path / "rel").rglob("*") if p.is_file()} == before

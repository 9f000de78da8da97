"""The `evaluate` (one model) and `compare` stages through their command lines, on small simulated inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import DATASETS, REPO, load_stage
from traumasynth.datasets.ed_trauma_sim import simulate
from traumasynth.peers.worker import PEERS_PYTHON_ENV
from traumasynth.prepare import PrepareParams, prepare_dataset, write_prepared
from traumasynth.spec import DatasetSpec

runner = CliRunner()
PEERS_PYTHON = REPO / ".venv-peers" / "bin" / "python"
JUDGE = ("--judge", str(REPO / "peers" / "quality_report.py"))
app = load_stage("evaluate")
compare_app = load_stage("compare")

SMALL = {
    "bootstrap": 20,
    "hgb_max_iter": 20,
    "discriminator_rows": 300,
    "privacy_rows": 200,
    "text_rows": 200,
    "text_max_features": 500,
    "sdmetrics": False,  # SDMetrics runs in its own test: ~20 s per model where .venv-peers is built
}


def _synthetic_files(root: Path, model: str, synthetic: pd.DataFrame, spec: DatasetSpec, epsilon: float) -> None:
    modelled = [c.name for c in spec.modelled_columns]
    syn = synthetic[modelled].reset_index(drop=True)
    syn.insert(0, "patient_id", [f"{model}-{i:06d}" for i in range(len(syn))])
    (root / "data/synthetic").mkdir(parents=True, exist_ok=True)
    syn.to_parquet(root / f"data/synthetic/{model}.parquet", index=False)
    aug = simulate(n_rows=600, seed=31, spec=spec)[modelled]
    aug = aug[aug["mechanism"] == "self_harm"].reset_index(drop=True)
    aug.insert(0, "patient_id", [f"{model}-{900000 + i:06d}" for i in range(len(aug))])
    aug.to_parquet(root / f"data/synthetic/{model}_augment.parquet", index=False)
    sample = {"epsilon_total": epsilon, "delta_total": 1e-5, "constraint_violation_rate": 0.25}
    (root / f"metrics/sample_{model}.json").write_text(json.dumps(sample))
    (root / f"metrics/train_{model}.json").write_text(json.dumps({"epsilon": epsilon, "delta": 1e-5}))
    narratives = pd.DataFrame(
        {
            "row_id": syn["patient_id"],
            "narrative": [
                f"{a}-year-old {s}, {m.replace('_', ' ')} at {p}, {r.replace('_', ' ')} {t}."
                for a, s, m, p, r, t in syn[
                    ["age", "sex", "mechanism", "place", "body_region", "injury_type"]
                ].itertuples(index=False)
            ],
            "faithfulness": np.linspace(0.5, 1.0, len(syn)),
        }
    )
    (root / "data/narratives").mkdir(parents=True, exist_ok=True)
    narratives.to_parquet(root / f"data/narratives/{model}.parquet", index=False)
    (root / f"metrics/narrate_{model}.json").write_text(json.dumps({"faithfulness_rate": 0.8}))


@pytest.fixture()
def project(tmp_path: Path, sim_spec: DatasetSpec) -> Path:
    """A project folder with prepared splits and two "models": fresh rows (vae) and a copy of train (ddpm)."""
    shutil.copytree(DATASETS, tmp_path / "datasets")
    data = prepare_dataset(spec=sim_spec, params=PrepareParams(n_rows=800, min_class_rows=5), dataset_path=None, seed=3)
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/checker").mkdir()  # the checker's measured quality, as its labelled-set test writes it
    (tmp_path / "metrics/checker/ed_trauma_sim.json").write_text(json.dumps({"recall": 0.95, "precision": 1.0}))
    write_prepared(data, spec=sim_spec, out_dir=tmp_path / "data/prepared", metrics_path=tmp_path / "metrics/prep.json")
    _synthetic_files(tmp_path, "vae", simulate(n_rows=len(data.train), seed=21, spec=sim_spec), sim_spec, 3.0)
    _synthetic_files(tmp_path, "ddpm", data.train, sim_spec, 8.0)
    params = {"base": {"seed": 1, "dataset": "ed_trauma_sim", "models": ["vae", "ddpm"]}, "evaluate": SMALL}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def evaluate(root: Path, model: str, *extra: str):
    return runner.invoke(
        app,
        [
            "--model", model, *extra, "--params", str(root / "params.yaml"),
            "--prepared-dir", str(root / "data/prepared"), "--synthetic-dir", str(root / "data/synthetic"),
            "--narratives-dir", str(root / "data/narratives"), "--metrics-dir", str(root / "metrics"),
            "--plots-dir", str(root / "metrics/plots"), "--summary-dir", str(root / "data/evaluation"),
            "--datasets-dir", str(root / "datasets"),
        ],
    )  # fmt: skip


def compare(root: Path):
    return runner.invoke(
        compare_app,
        [
            "--params", str(root / "params.yaml"), "--summary-dir", str(root / "data/evaluation"),
            "--metrics-dir", str(root / "metrics"), "--utility-plot", str(root / "metrics/plots/utility.csv"),
            "--report", str(root / "metrics/report.md"),
        ],
    )  # fmt: skip


def cli(root: Path):
    """What `dvc repro` runs: evaluate@<model> for base.models, evaluate_peer@<peer>, then compare."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    for model in params["base"]["models"]:
        if (result := evaluate(root, model)).exit_code != 0:
            return result
    for peer in params.get("baselines", {}).get("peers", []):
        if (result := evaluate(root, peer, "--no-narratives")).exit_code != 0:
            return result
    return compare(root)


def test_stage_writes_metrics_plots_and_report(project: Path):
    result = cli(project)
    assert result.exit_code == 0, result.output
    fresh = json.loads((project / "metrics/evaluate_vae.json").read_text())
    copy = json.loads((project / "metrics/evaluate_ddpm.json").read_text())
    for key in (
        "utility.trtr_macro_f1", "utility.tstr_macro_f1", "utility.tstr_trtr_ratio", "utility.augmented_macro_f1",
        "utility.rare_class_recall_trtr", "utility.rare_class_recall_augmented", "fidelity.wasserstein_mean",
        "fidelity.tvd_mean", "fidelity.tvd_2way", "fidelity.tvd_3way", "fidelity.association_diff",
        "fidelity.discriminator_auc", "privacy.epsilon_total",
        "privacy.dcr_ratio", "privacy.mia_auc", "privacy.exact_match_rate", "narrative.faithfulness_rate",
        "narrative.distinct_2",
    ):  # fmt: skip
        section, name = key.split(".")
        assert isinstance(fresh[section][name], float | int), key
    assert "self_harm" in fresh["utility"]["rare_recall"]
    assert fresh["privacy"]["epsilon_total"] == 3.0 and copy["privacy"]["epsilon_total"] == 8.0
    assert fresh["narrative"]["faithfulness_rate"] == 0.8
    assert (fresh["narrative"]["checker_recall"], fresh["narrative"]["checker_precision"]) == (0.95, 1.0)
    # the copy of the training rows is flagged; fresh rows of the population are not
    assert copy["privacy"]["exact_match_rate"] == 1.0 and fresh["privacy"]["exact_match_rate"] == 0.0
    assert copy["privacy"]["mia_auc"] > 0.9 > fresh["privacy"]["mia_auc"]
    assert copy["privacy"]["dcr_ratio"] < 0.1 < fresh["privacy"]["dcr_ratio"]
    assert copy["fidelity"]["wasserstein_mean"] == 0.0 and copy["fidelity"]["tvd_mean"] == 0.0
    assert copy["fidelity"]["tvd_2way"] == 0.0 and copy["fidelity"]["tvd_3way"] == 0.0
    # fresh rows of the population sit near the real test split's own distance (the sampling-noise reference)
    reference = fresh["fidelity"]["reference"]
    assert reference["rows"] == len(pd.read_parquet(project / "data/prepared/test.parquet"))
    assert 0 < fresh["fidelity"]["tvd_2way"] < 2 * reference["tvd_2way"]
    assert reference == copy["fidelity"]["reference"]
    # before enforcement: read from the sample metrics; released: checked on the table (real rows keep the rules)
    assert fresh["fidelity"]["constraint_violation_rate"] == 0.25
    assert fresh["fidelity"]["constraint_violation_rate_released"] == 0.0
    assert 0.0 < fresh["utility"]["tstr_macro_f1"] <= 1.0
    plots = project / "metrics/plots"
    for name in ("utility", "recall_vae", "confusion_vae", "marginals_vae", "fidelity_vae", "dcr_ddpm"):
        assert (plots / f"{name}.csv").is_file(), name
    confusion = pd.read_csv(plots / "confusion_vae.csv")
    assert len(confusion) == len(pd.read_parquet(project / "data/prepared/test.parquet"))
    report = (project / "metrics/report.md").read_text()
    assert "| vae |" in report and "| ddpm |" in report


def test_missing_synthetic_file_exits_1_naming_the_stage(project: Path):
    (project / "data/synthetic/ddpm.parquet").unlink()
    result = evaluate(project, "ddpm")
    assert result.exit_code == 1
    assert "data/synthetic/ddpm.parquet" in result.output
    assert "dvc repro sample@ddpm" in result.output
    assert not (project / "metrics/evaluate_ddpm.json").exists()  # nothing written for the model
    assert not (project / "data/evaluation/ddpm.json").exists()
    assert evaluate(project, "vae").exit_code == 0  # the other model is not held back
    result = compare(project)
    assert result.exit_code == 1
    assert "evaluate@ddpm" in result.output
    assert not (project / "metrics/report.md").exists()


def test_compare_refuses_an_evaluation_of_another_dataset(project: Path):
    assert cli(project).exit_code == 0
    summary = project / "data/evaluation/vae.json"
    summary.write_text(summary.read_text().replace('"dataset": "ed_trauma_sim"', '"dataset": "neiss"'))
    result = compare(project)
    assert result.exit_code == 1
    assert "dataset 'neiss'" in result.output and "dvc repro evaluate@vae" in result.output


def test_compare_follows_base_models(project: Path):
    """Any subset of models: the utility plot and the report list exactly base.models (with TRTR once)."""
    assert cli(project).exit_code == 0
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["base"]["models"] = ["ddpm"]
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    result = compare(project)
    assert result.exit_code == 0, result.output
    utility = pd.read_csv(project / "metrics/plots/utility.csv")
    assert set(utility["model"]) == {"real", "ddpm"}
    assert (utility["setting"] == "trtr").sum() == 2  # one row per classifier (hgb, logreg)
    report = (project / "metrics/report.md").read_text()
    assert "| ddpm |" in report and "| vae |" not in report


def test_synthetic_value_outside_the_spec_exits_1(project: Path):
    path = project / "data/synthetic/vae.parquet"
    df = pd.read_parquet(path)
    df.loc[3, "sex"] = "unknown_sex"
    df.to_parquet(path, index=False)
    result = cli(project)
    assert result.exit_code == 1
    assert "Column 'sex'" in result.output and "sample@vae" in result.output


def test_same_inputs_give_the_same_bytes(project: Path):
    assert cli(project).exit_code == 0
    outputs = [project / "metrics", project / "data/evaluation"]
    first = {p.name: p.read_bytes() for d in outputs for p in d.rglob("*") if p.is_file()}
    assert cli(project).exit_code == 0
    second = {p.name: p.read_bytes() for d in outputs for p in d.rglob("*") if p.is_file()}
    assert first == second


def test_non_dp_model_and_peer_without_narratives(project: Path, sim_spec: DatasetSpec):
    """`epsilon: null` (no DP) is reported as such, and a peer is scored without narratives."""
    sample = project / "metrics/sample_ddpm.json"
    sample.write_text(json.dumps({"epsilon_total": None, "delta_total": None}))
    peer = pd.read_parquet(project / "data/synthetic/vae.parquet")
    peer.to_parquet(project / "data/synthetic/mst.parquet", index=False)
    peer.iloc[:0].to_parquet(project / "data/synthetic/mst_augment.parquet", index=False)
    (project / "metrics/sample_mst.json").write_text(json.dumps({"epsilon_total": 1.0, "delta_total": 1e-5}))
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["baselines"] = {"peers": ["mst"]}
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    result = cli(project)
    assert result.exit_code == 0, result.output
    no_dp = json.loads((project / "metrics/evaluate_ddpm.json").read_text())
    assert no_dp["privacy"]["epsilon_total"] is None
    mst = json.loads((project / "metrics/evaluate_mst.json").read_text())
    assert mst["privacy"]["epsilon_total"] == 1.0 and "narrative" not in mst
    report = (project / "metrics/report.md").read_text()
    assert "no DP" in report and "| mst |" in report


def test_empty_narratives_file_needs_require_narratives_false(project: Path):
    """An empty narratives file (narrate.n_rows: 0) is an error by default, and tables-only when allowed."""
    narratives = project / "data/narratives/vae.parquet"
    pd.read_parquet(narratives).iloc[:0].to_parquet(narratives, index=False)
    result = cli(project)
    assert result.exit_code == 1
    assert "narrate.n_rows is 0" in result.output and "evaluate.require_narratives=false" in result.output
    assert not (project / "metrics/evaluate_vae.json").exists()
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["evaluate"] = {**params["evaluate"], "require_narratives": False}
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    result = cli(project)
    assert result.exit_code == 0, result.output
    vae = json.loads((project / "metrics/evaluate_vae.json").read_text())
    ddpm = json.loads((project / "metrics/evaluate_ddpm.json").read_text())
    assert "narrative" not in vae and ddpm["narrative"]["faithfulness_rate"] == 0.8


def test_the_joint_grid_is_read_from_the_baselines_section(project: Path):
    """`baselines` owns the public grid of fidelity.tvd_2way/3way: a bad grid stops evaluate before any work."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["baselines"] = {"n_bins": 1}
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    result = evaluate(project, "vae")
    assert result.exit_code == 1
    assert "baselines.n_bins" in result.output
    assert not (project / "metrics/evaluate_vae.json").exists()


def test_sdmetrics_keys_follow_the_peers_environment(project: Path, monkeypatch: pytest.MonkeyPatch):
    """`evaluate.sdmetrics`: true without .venv-peers stops before any work; auto leaves the keys out."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["evaluate"]["sdmetrics"] = True
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.setenv(PEERS_PYTHON_ENV, str(project / "missing-python"))
    result = evaluate(project, "vae", *JUDGE)
    assert result.exit_code == 1 and "make peers" in result.output, result.output
    assert not (project / "metrics/evaluate_vae.json").exists()
    params["evaluate"]["sdmetrics"] = "auto"
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert (result := evaluate(project, "vae", *JUDGE)).exit_code == 0, result.output
    fidelity = json.loads((project / "metrics/evaluate_vae.json").read_text())["fidelity"]
    assert not any(k.startswith("sdmetrics") for k in (*fidelity, *fidelity["reference"]))


@pytest.mark.skipif(not PEERS_PYTHON.is_file(), reason=".venv-peers is absent: build it with `make peers`")
def test_sdmetrics_keys_with_the_peers_environment(project: Path):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["evaluate"].update(sdmetrics=True, sdmetrics_rows=300)
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert (result := evaluate(project, "vae", *JUDGE)).exit_code == 0, result.output
    fidelity = json.loads((project / "metrics/evaluate_vae.json").read_text())["fidelity"]
    for key in ("sdmetrics_quality", "sdmetrics_column_shapes", "sdmetrics_pair_trends"):
        assert 0.5 < fidelity[key] <= 1.0, key
    assert 0.5 < fidelity["reference"]["sdmetrics_quality"] <= 1.0
    assert set(fidelity["reference"]) == {"tvd_2way", "tvd_3way", "rows", "sdmetrics_quality"}

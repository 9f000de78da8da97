"""The sweep collector, on hand-made documents shaped as `dvc exp show --json` prints them (DVC 3)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import load_stage
from traumasynth.core.errors import DataError
from traumasynth.sweep.experiments import parse_exp_show
from traumasynth.sweep.stage import read_sweep_table, run
from traumasynth.sweep.table import PLOT_MODELS, SWEEP_COLUMNS, sweep_table
from traumasynth.sweep.views import markdown_summary, plot_frame

PEERS_DP = {"aim": True, "mst": True, "gaussian_copula": False}


def _evaluate(tstr: float, mia: float = 0.52, eps_total: float | None = 1.05) -> dict[str, Any]:
    return {
        "utility": {"tstr_macro_f1": tstr, "tstr_macro_f1_low": tstr - 0.02, "tstr_macro_f1_high": tstr + 0.02,
                    "trtr_macro_f1": 0.8, "tstr_trtr_ratio": tstr / 0.8},
        "fidelity": {"discriminator_auc": 0.7, "tvd_mean": 0.05, "wasserstein_mean": 0.02, "tvd_2way": 0.04,
                     "tvd_3way": 0.09, "sdmetrics_quality": 0.9, "constraint_violation_rate": 0.01,
                     "reference": {"tvd_2way": 0.05}},
        "privacy": {"mia_auc": mia, "epsilon_total": eps_total, "delta_total": 1e-5},
    }  # fmt: skip


def _rev(
    rev: str,
    epsilon: float | None,
    metrics: dict[str, dict],
    *,
    peers: list[str],
    ts: str,
    name: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "rev": rev,
        "name": name,
        "data": {
            "rev": rev,
            "timestamp": ts,
            "params": {
                "params.yaml": {
                    "data": {
                        "base": {"dataset": "ed_trauma_sim", "models": ["vae", "marginals"]},
                        "train_dp_tabular": {"epsilon": epsilon},
                        "baselines": {"peers": peers},
                    }
                    | (extra or {})
                }
            },
            "metrics": {path: {"data": data} for path, data in metrics.items()}
            | {"metrics/evaluate_ddpm.json": {"error": {"type": "FileNotFoundError", "msg": "missing"}}},
            "deps": {},
            "outs": {},
            "meta": {},
        },
        "error": None,
        "experiments": None,
    }


def _metrics(eps: float | None, *, vae: float, marg: float, peers: dict[str, float]) -> dict[str, dict]:
    out = {
        "metrics/evaluate_vae.json": _evaluate(vae),
        "metrics/evaluate_marginals.json": _evaluate(marg),
        "metrics/train_vae.json": {"train_seconds": 100.0},
        "metrics/sample_vae.json": {"rows": 1000, "rows_per_second": 500.0},
        "metrics/train_marginals.json": {"train_seconds": 1.5},
    }
    for peer, f1 in peers.items():
        out[f"metrics/evaluate_{peer}.json"] = _evaluate(f1, eps_total=eps if PEERS_DP[peer] else None)
        out[f"metrics/train_{peer}.json"] = {"train_seconds": 30.0, "sample_seconds": 2.0}
    return out


@pytest.fixture()
def exp_show() -> list[dict[str, Any]]:
    """Baseline at ε=3 plus experiments at ε=1 and ε=0.5 (with peers), one failed, and the workspace."""
    baseline = _rev("a" * 40, 3.0, _metrics(3.0, vae=0.60, marg=0.40, peers={}), peers=[], ts="2026-11-26T10:00:00")
    baseline["name"] = "main"
    exp1 = _rev(
        "b" * 40, 1.0, _metrics(1.0, vae=0.50, marg=0.35, peers={"aim": 0.55, "mst": 0.45}),
        peers=["aim", "mst"], ts="2026-11-26T11:00:00", name="eps-1",
    )  # fmt: skip
    exp05 = _rev(
        "c" * 40, 0.5, _metrics(0.5, vae=0.42, marg=0.30, peers={"aim": 0.50, "gaussian_copula": 0.70}),
        peers=["aim", "gaussian_copula"], ts="2026-11-26T12:00:00", name="eps-05",
    )  # fmt: skip
    failed = {"rev": "d" * 40, "name": "broken", "data": None, "error": {"msg": "stage failed", "type": "X"}}
    older_eps1 = _rev(
        "e" * 40, 1.0, _metrics(1.0, vae=0.10, marg=0.10, peers={}), peers=[], ts="2026-11-26T10:30:00", name="old"
    )
    running = _rev(
        "9" * 40, 2.0, _metrics(3.0, vae=0.60, marg=0.40, peers={}), peers=[], ts="2026-11-26T13:00:00", name="eps-2"
    )  # a running experiment: its params say ε=2, its metrics files are still the baseline's
    baseline["experiments"] = [
        {"revs": [running], "executor": {"state": "running", "name": "dvc-task"}, "name": "eps-2"},
        {"revs": [exp1], "executor": {"state": "success", "name": "dvc-task"}, "name": "eps-1"},
        {"revs": [exp05], "executor": None, "name": "eps-05"},
        {"revs": [failed], "executor": None, "name": "broken"},
        {"revs": [older_eps1], "executor": None, "name": "old"},
    ]
    workspace = _rev("workspace", 0.5, _metrics(0.5, vae=0.99, marg=0.99, peers={}), peers=[], ts=None)
    workspace["data"]["timestamp"] = None
    return [workspace, baseline]


def test_parse_exp_show_lists_every_readable_revision(exp_show: list[dict[str, Any]]) -> None:
    exps = parse_exp_show(exp_show=exp_show)
    # "broken" (an error) and "eps-2" (still running) are skipped
    assert [e.name for e in exps] == ["workspace", "main", "eps-1", "eps-05", "old"]
    assert "metrics/evaluate_ddpm.json" not in exps[1].metrics  # an unreadable file is left out


def test_sweep_table_one_row_per_model_and_epsilon(exp_show: list[dict[str, Any]]) -> None:
    table = sweep_table(experiments=parse_exp_show(exp_show=exp_show), dataset="ed_trauma_sim", peers_dp=PEERS_DP)
    assert list(table.columns) == list(SWEEP_COLUMNS)
    triples = zip(table.model, table.epsilon, table.tstr_macro_f1, strict=True)
    cells = {(m, None if pd.isna(e) else e): f1 for m, e, f1 in triples}
    # newest committed experiment wins over an older one and over the workspace copy
    assert cells[("vae", 1.0)] == 0.50
    assert cells[("vae", 0.5)] == 0.42
    assert cells[("vae", 3.0)] == 0.60
    assert cells[("aim", 1.0)] == 0.55 and cells[("aim", 0.5)] == 0.50
    assert cells[("mst", 1.0)] == 0.45
    # a non-private peer has no ε, whatever the experiment's training ε
    assert cells[("gaussian_copula", None)] == 0.70
    assert len(table) == len(cells) == 3 + 3 + 2 + 1 + 1
    aim = table[(table.model == "aim") & (table.epsilon == 1.0)].iloc[0]
    assert aim["kind"] == "peer" and aim["experiment"] == "eps-1"
    assert aim["train_seconds"] == 30.0 and aim["wall_seconds"] == 32.0
    vae = table[(table.model == "vae") & (table.epsilon == 1.0)].iloc[0]
    assert vae["kind"] == "ours" and vae["wall_seconds"] == 102.0  # 100 s training + 1000 rows at 500 rows/s
    assert vae["mia_auc"] == 0.52 and vae["discriminator_auc"] == 0.7
    assert (vae["tvd_2way"], vae["tvd_3way"], vae["constraint_violation_rate"]) == (0.04, 0.09, 0.01)
    assert vae["sdmetrics_quality"] == 0.9
    # models follow PLOT_MODELS order, ε ascending within a model
    assert list(table.model.drop_duplicates()) == ["vae", "marginals", "aim", "mst", "gaussian_copula"]
    assert list(table[table.model == "vae"].epsilon) == [0.5, 1.0, 3.0]


def test_plot_frame_is_wide_with_every_known_model(exp_show: list[dict[str, Any]]) -> None:
    table = sweep_table(experiments=parse_exp_show(exp_show=exp_show), dataset="ed_trauma_sim", peers_dp=PEERS_DP)
    plot = plot_frame(table=table)
    assert list(plot.columns) == ["epsilon", *PLOT_MODELS]
    assert list(plot.epsilon) == [0.5, 1.0, 3.0]
    assert plot.loc[plot.epsilon == 1.0, "aim"].item() == 0.55
    assert math.isnan(plot.loc[plot.epsilon == 3.0, "aim"].item())
    assert plot["gaussian_copula"].isna().all()  # no ε: in the table, not on the ε plot


def test_other_dataset_or_no_evaluation_is_an_error(exp_show: list[dict[str, Any]]) -> None:
    exps = parse_exp_show(exp_show=exp_show)
    with pytest.raises(DataError, match="No experiment of dataset 'neiss'"):
        sweep_table(experiments=exps, dataset="neiss", peers_dp=PEERS_DP)
    with pytest.raises(DataError, match="not a JSON list"):
        parse_exp_show(exp_show={"workspace": {}})


def test_run_sweep_report_writes_both_files(exp_show: list[dict[str, Any]], tmp_path: Path) -> None:
    table = run(
        exp_show=exp_show, dataset="ed_trauma_sim", peers_dp=PEERS_DP, table_path=tmp_path / "sweep.csv",
        plot_path=tmp_path / "plots" / "sweep_tstr.csv",
    )  # fmt: skip
    written = pd.read_csv(tmp_path / "sweep.csv")
    assert len(written) == len(table)
    assert pd.read_csv(tmp_path / "plots" / "sweep_tstr.csv").columns[0] == "epsilon"


def test_rows_of_models_not_rerun_are_carried_from_an_earlier_table(
    exp_show: list[dict[str, Any]], tmp_path: Path
) -> None:
    first = run(
        exp_show=exp_show, dataset="ed_trauma_sim", peers_dp=PEERS_DP, table_path=tmp_path / "old.csv",
        plot_path=tmp_path / "old_tstr.csv",
    )  # fmt: skip
    old = read_sweep_table(tmp_path / "old.csv")
    kept_models = set(first["model"]) - {"vae"}
    only_vae = old[old["model"] == "vae"].assign(model="ctgan", experiment="older")  # a model this sweep lacks
    carried = pd.concat([old, only_vae], ignore_index=True)
    table = run(
        exp_show=exp_show, dataset="ed_trauma_sim", peers_dp=PEERS_DP, table_path=tmp_path / "new.csv",
        plot_path=tmp_path / "new_tstr.csv", carry=carried,
    )  # fmt: skip
    # rows of models the experiments have are not duplicated; the missing model's rows are kept as they were
    assert set(table["model"]) == kept_models | {"vae", "ctgan"}
    assert (table.loc[table["model"] == "ctgan", "experiment"] == "older").all()
    assert len(table) == len(first) + len(only_vae)
    # a table written before the joint columns existed is carried too, its new cells empty
    older = carried.drop(columns=["tvd_2way", "tvd_3way", "sdmetrics_quality", "constraint_violation_rate"])
    again = run(
        exp_show=exp_show, dataset="ed_trauma_sim", peers_dp=PEERS_DP, table_path=tmp_path / "new2.csv",
        plot_path=tmp_path / "new2_tstr.csv", carry=older,
    )  # fmt: skip
    assert list(again.columns) == list(SWEEP_COLUMNS)
    assert again.loc[again["model"] == "ctgan", "tvd_2way"].isna().all()
    assert (again.loc[again["model"] == "vae", "tvd_2way"] == 0.04).all()
    with pytest.raises(DataError, match="no row of ed_trauma_sim"):
        run(
            exp_show=exp_show, dataset="ed_trauma_sim", peers_dp=PEERS_DP, table_path=tmp_path / "x.csv",
            plot_path=tmp_path / "x_tstr.csv", carry=carried.assign(dataset="neiss"),
        )  # fmt: skip


def test_sweep_report_cli(exp_show: list[dict[str, Any]], tmp_path: Path) -> None:
    app = load_stage("sweep_report")
    exp_file = tmp_path / "exps.json"
    exp_file.write_text(json.dumps(exp_show))
    out, plot = tmp_path / "sweep.csv", tmp_path / "tstr.csv"
    args = ["--dataset", "ed_trauma_sim", "--exp-json", str(exp_file), "--out", str(out), "--plot", str(plot)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(out).model) == {"vae", "marginals", "aim", "mst", "gaussian_copula"}

    bad = CliRunner().invoke(app, ["--dataset", "neiss", "--exp-json", str(exp_file), "--out", str(out)])
    assert bad.exit_code == 1
    assert "No experiment of dataset 'neiss'" in bad.output
    missing = CliRunner().invoke(app, ["--dataset", "x", "--exp-json", str(tmp_path / "none.json")])
    assert missing.exit_code == 1 and "dvc exp show --json --all-commits >" in missing.output


def test_experiments_with_other_settings_are_left_out(
    exp_show: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    """A cell from another cohort size is not comparable: left out, with the difference named."""
    other = _rev(
        "f" * 40, 2.0, _metrics(2.0, vae=0.90, marg=0.90, peers={}), peers=[], ts="2026-11-26T11:30:00",
        name="small-eps2", extra={"prepare": {"n_rows": 5000}},
    )  # fmt: skip
    exp_show[1]["experiments"].append({"revs": [other], "executor": None, "name": "small-eps2"})
    # whether SDMetrics ran only decides whether its column is filled: still comparable
    unjudged = _rev(
        "e" * 40, 2.5, _metrics(2.5, vae=0.90, marg=0.90, peers={}), peers=[], ts="2026-11-26T11:20:00",
        name="eps-2.5", extra={"evaluate": {"sdmetrics": False}},
    )  # fmt: skip
    exp_show[1]["experiments"].append({"revs": [unjudged], "executor": None, "name": "eps-2.5"})
    exps = parse_exp_show(exp_show=exp_show)
    with caplog.at_level("WARNING"):
        table = sweep_table(experiments=exps, dataset="ed_trauma_sim", peers_dp=PEERS_DP)
    assert 2.0 not in set(table.epsilon) and 2.5 in set(table.epsilon)
    assert "Left out experiment small-eps2" in caplog.text and "prepare.n_rows: None vs 5000" in caplog.text
    # selected by name, the small experiments make their own sweep
    small = sweep_table(experiments=exps, dataset="ed_trauma_sim", peers_dp=PEERS_DP, names="small-*")
    assert set(small.epsilon) == {2.0} and set(small.experiment) == {"small-eps2"}
    with pytest.raises(DataError, match=r"named like 'none-\*'"):
        sweep_table(experiments=exps, dataset="ed_trauma_sim", peers_dp=PEERS_DP, names="none-*")


def test_markdown_summary_one_row_per_model_one_column_per_epsilon(exp_show: list[dict[str, Any]]) -> None:
    table = sweep_table(experiments=parse_exp_show(exp_show=exp_show), dataset="ed_trauma_sim", peers_dp=PEERS_DP)
    lines = markdown_summary(table=table).splitlines()
    assert lines[0] == "| model | ε = 0.5 | ε = 1 | ε = 3 | no DP |"
    assert lines[2] == "| vae | 0.420 | 0.500 | 0.600 |  |"
    assert lines[-1] == "| gaussian_copula |  |  |  | 0.700 |"

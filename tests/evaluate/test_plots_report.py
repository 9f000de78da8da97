"""Plot data, the report and the params section of the evaluate stage."""

from __future__ import annotations

import numpy as np
import pytest

from traumasynth.core.errors import ParamsError
from traumasynth.core.params import load_section
from traumasynth.evaluate.plots import confusion_frame, dcr_frame, marginals_frame
from traumasynth.evaluate.report import render_report
from traumasynth.evaluate.run import EvaluateParams


def test_confusion_frame_has_one_record_per_test_row():
    cm = np.array([[3, 1], [0, 2]])
    frame = confusion_frame(cm, classes=("fall", "assault"))
    assert len(frame) == 6
    assert frame.value_counts().to_dict() == {("fall", "fall"): 3, ("assault", "assault"): 2, ("fall", "assault"): 1}


def test_marginal_shares_sum_to_one_per_column(sim_spec, real_train, synthetic):
    frame = marginals_frame(real_train, synthetic, spec=sim_spec, bins=10)
    sums = frame.groupby("column")[["real", "synthetic"]].sum()
    assert np.allclose(sums.to_numpy(), 1.0)
    assert set(sums.index) == {c.name for c in sim_spec.modelled_columns}
    triage = frame[frame["column"] == "triage_level"]
    assert len(triage) == 5  # an integer column with 5 values gets 5 bins, not 10; not nullable: no missing level


def test_dcr_quantiles_are_on_the_diagonal_for_equal_distances():
    d = np.linspace(0, 1, 101)
    frame = dcr_frame(d, d.copy(), points=10)
    assert np.allclose(frame["test"], frame["synthetic"])
    assert frame["test"].is_monotonic_increasing


def test_report_names_the_best_model():
    results = {
        "vae": {"utility": {"tstr_macro_f1": 0.6, "trtr_macro_f1": 0.8}, "privacy": {"mia_auc": 0.52}},
        "ddpm": {"utility": {"tstr_macro_f1": 0.7, "trtr_macro_f1": 0.8}, "privacy": {"mia_auc": 0.55}},
    }
    text = render_report(results=results, dataset="ed_trauma_sim", rare=["self_harm"])
    assert "| vae | 0.600 |" in text and "| ddpm | 0.700 |" in text
    assert "`ddpm` gives the most useful synthetic rows" in text
    assert "`vae` gives the lowest membership-inference AUC" in text
    assert "discr. AUC" not in text  # no model has it: no empty column


def test_report_shows_the_joint_and_its_reference():
    fid = {"tvd_2way": 0.031, "tvd_3way": 0.076, "reference": {"tvd_2way": 0.046, "tvd_3way": 0.11, "rows": 4000}}
    text = render_report(results={"vae": {"fidelity": fid}}, dataset="ed_trauma_sim", rare=[])
    assert "TVD 2-way ↓ | TVD 3-way ↓" in text and "| vae | 0.031 | 0.076 |" in text
    assert "2-way TVD 0.046 and 3-way TVD 0.110" in text and "4000 rows" in text
    assert "SDMetrics" not in text  # not run: no column, no sentence


def test_report_shows_the_sdmetrics_quality_and_its_reference():
    fid = {"tvd_2way": 0.031, "sdmetrics_quality": 0.88, "reference": {"tvd_2way": 0.046, "sdmetrics_quality": 0.974}}
    text = render_report(results={"vae": {"fidelity": fid}}, dataset="ed_trauma_sim", rare=[])
    assert "SDMetrics quality ↑" in text and "| vae | 0.031 | 0.880 |" in text
    assert "scores the real test rows 0.974" in text


def test_params_section_checks_the_headline_classifier(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("evaluate:\n  classifiers: [logreg]\n  headline_classifier: hgb\n")
    with pytest.raises(ParamsError, match="headline_classifier"):
        load_section(path, "evaluate", EvaluateParams)
    path.write_text("evaluate:\n  classifiers: [logreg]\n  headline_classifier: logreg\n  bootstrap: 50\n")
    assert load_section(path, "evaluate", EvaluateParams).bootstrap == 50


def test_params_file_section_loads(tmp_path):
    from tests.conftest import REPO

    params = load_section(REPO / "params.yaml", "evaluate", EvaluateParams)
    assert params.headline_classifier in params.classifiers

"""`ClassMerge`: the target categories after `prepare.merge_classes`, and its one-line errors."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import DATASETS, load_stage
from traumasynth.core.errors import ParamsError, SpecError
from traumasynth.spec import DatasetSpec
from traumasynth.spec.merge import ClassMerge

MERGE = ClassMerge(rare_class_policy="merge", merge_classes=("work", "self_harm"), merge_into="domestic_leisure")


def test_folded_classes_leave_the_target_and_its_wording(sim_spec: DatasetSpec) -> None:
    merged = MERGE.apply(sim_spec)
    assert merged.classes == tuple(c for c in sim_spec.classes if c not in ("work", "self_harm"))
    assert "self_harm" not in merged.target.labels and "fall" in merged.target.labels
    assert merged.spec_hash != sim_spec.spec_hash  # a model of the unmerged classes is refused
    assert [c for c in merged.columns if c.role != "target"] == [c for c in sim_spec.columns if c.role != "target"]


def test_no_merge_is_the_spec_as_written(sim_spec: DatasetSpec) -> None:
    assert ClassMerge().apply(sim_spec) is sim_spec
    stale = ClassMerge(rare_class_policy="error", merge_classes=("bicyclist",))  # names ignored without a merge
    assert stale.apply(sim_spec) is sim_spec


def test_a_rule_on_a_folded_class_is_refused(sim_spec: DatasetSpec) -> None:
    rule = {"name": "self_harm_adult", "description": "x", "if": {"column": "mechanism", "in": ["self_harm"]},
            "then": {"column": "age", "ge": 10}}  # fmt: skip
    ruled = DatasetSpec.model_validate(sim_spec.model_dump(by_alias=True) | {"constraints": [rule]})
    with pytest.raises(SpecError, match="rule 'self_harm_adult' .* names self_harm, folded"):
        MERGE.apply(ruled)


def test_classes_of_another_table_name_the_params_to_reset_in_one_line(sim_spec: DatasetSpec) -> None:
    """`dvc exp run -S base.dataset=...` keeps the last table's merge: the message says what to reset."""
    stale = ClassMerge(rare_class_policy="merge", merge_classes=("bicyclist", "pedestrian"), merge_into="other")
    with pytest.raises(ParamsError) as err:
        stale.apply(sim_spec)
    message = str(err.value)
    assert "\n" not in message
    assert "'bicyclist', 'pedestrian', 'other', not classes of 'mechanism' in dataset 'ed_trauma_sim'" in message
    for key in ("prepare.rare_class_policy=error", "prepare.merge_classes=[]", "prepare.merge_into=other"):
        assert key in message


def test_every_stage_after_prepare_stops_on_a_stale_merge(tmp_path) -> None:
    """The later stages read the merge too (their spec is the merged one): the same line, exit 1."""
    params = tmp_path / "params.yaml"
    base = {"seed": 1, "dataset": "ed_trauma_sim", "models": ["marginals"]}
    stale = {"rare_class_policy": "merge", "merge_classes": ["bicyclist"], "merge_into": "fall"}
    params.write_text(yaml.safe_dump({"base": base, "prepare": stale, "sample": {}}))
    result = CliRunner().invoke(
        load_stage("release"), ["--params", str(params), "--datasets-dir", str(DATASETS), "--out-dir", str(tmp_path)]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("error: prepare.merge_classes / prepare.merge_into name 'bicyclist'")
    assert len(result.output.strip().splitlines()) == 1

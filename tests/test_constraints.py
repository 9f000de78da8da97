"""Clinical rules: the YAML form, its errors (naming the rule), and the vectorised checker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from traumasynth.core.errors import SpecError
from traumasynth.datasets.ed_trauma_sim import simulate
from traumasynth.spec import DatasetSpec, load_spec
from traumasynth.spec.constraints import check_constraints

REPO = Path(__file__).resolve().parents[1]


def _column(name: str, kind: str, **extra: object) -> dict:
    return {"name": name, "kind": kind, "description": name, **extra}


BASE = {
    "name": "mini",
    "description": "a tiny ED table with ICU and ventilation hours",
    "columns": [
        _column("visit_id", "identifier", role="excluded"),
        _column("los_h", "continuous", bounds=[0, 720], nullable=True),
        _column("icu_h", "continuous", bounds=[0, 720], nullable=True),
        _column("vent_h", "continuous", bounds=[0, 720], nullable=True),
        _column("intubated", "categorical", categories=["yes", "no"], nullable=True),
        _column("gcs", "integer", bounds=[3, 15], nullable=True),
        _column("disposition", "categorical", categories=["home", "ward", "icu"]),
        _column("note", "text", role="excluded", nullable=True),
        _column("mechanism", "categorical", role="target", categories=["fall", "other"]),
    ],
}
RULES = [
    {
        "name": "icu_within_stay",
        "description": "ICU hours fit in the stay.",
        "require": {"column": "icu_h", "le": "los_h"},
    },
    {"name": "stay_cap", "description": "At most a month.", "require": {"column": "los_h", "lt": 721}},
    {
        "name": "intubated_ventilated",
        "description": "An intubated patient is ventilated.",
        "if": {"column": "intubated", "in": ["yes"]},
        "then": {"column": "vent_h", "gt": 0},
    },
    {
        "name": "coma_not_home",
        "description": "A comatose patient is not sent home.",
        "never": [{"column": "gcs", "le": 8}, {"column": "disposition", "in": ["home"]}],
    },
    {
        "name": "coma_intubated_in_icu",
        "description": "A comatose intubated patient goes to ICU.",
        "if": [{"column": "gcs", "le": 8}, {"column": "intubated", "in": ["yes"]}],
        "then": {"column": "disposition", "in": ["icu"]},
    },
]


def _spec(tmp_path: Path, rules: list[dict]) -> DatasetSpec:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({**BASE, "constraints": rules}, sort_keys=False))
    return load_spec(path)


def test_rules_parse_in_each_form(tmp_path: Path) -> None:
    spec = _spec(tmp_path, RULES)
    kinds = {r.name: r.kind for r in spec.constraints}
    assert kinds == {
        "icu_within_stay": "require", "stay_cap": "require", "intubated_ventilated": "if",
        "coma_not_home": "never", "coma_intubated_in_icu": "if",
    }  # fmt: skip
    assert str(spec.constraints[0]) == "require icu_h <= los_h"
    assert str(spec.constraints[2]) == "if intubated in ['yes'] then vent_h > 0.0"
    assert spec.constraints[0].columns == ("icu_h", "los_h")


def test_constraints_leave_the_hash_unchanged(tmp_path: Path) -> None:
    assert _spec(tmp_path, RULES).spec_hash == _spec(tmp_path, []).spec_hash


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"require": {"column": "icu_h", "le": "nowhere"}}, "constraint 'bad': no column 'nowhere'"),
        ({"require": {"column": "note", "in": ["x"]}}, "constraint 'bad': column 'note' has role `excluded`"),
        ({"require": {"column": "disposition", "le": 3}}, "constraint 'bad': `le` compares numbers"),
        ({"require": {"column": "gcs", "in": ["3"]}}, "constraint 'bad': `in` lists categories"),
        ({"require": {"column": "disposition", "in": ["morgue"]}}, r"\['morgue'\] are not categories"),
        ({"require": {"column": "gcs", "le": 8, "ge": 3}}, "exactly one of in, not_in"),
        ({"if": {"column": "gcs", "le": 8}}, "constraint 'bad': `if` needs a `then`"),
        (
            {"require": {"column": "gcs", "le": 8}, "never": [{"column": "gcs", "le": 8}, {"column": "gcs", "ge": 3}]},
            "constraint 'bad' needs exactly one of `require`, `if` \\+ `then` or `never`; got require and never",
        ),
        ({}, "constraint 'bad' needs exactly one of .* got none"),
        ({"never": [{"column": "gcs", "le": 8}]}, "at least 2 items"),
    ],
)
def test_bad_rules_are_named(tmp_path: Path, rule: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        _spec(tmp_path, [{"name": "bad", "description": "a bad rule", **rule}])


def test_missing_description_and_duplicate_names(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"constraints\.0\.description"):
        _spec(tmp_path, [{"name": "x", "require": {"column": "gcs", "le": 8}}])
    with pytest.raises(SpecError, match="constraint name 'stay_cap' is used twice"):
        _spec(tmp_path, [RULES[1], RULES[1]])


def test_checker_finds_each_kind_and_skips_missing_values(tmp_path: Path) -> None:
    spec = _spec(tmp_path, RULES)
    nan = np.nan
    frame = pd.DataFrame(
        {
            "los_h": [10.0, 10.0, nan, 30.0, 5.0, 5.0],
            "icu_h": [5.0, 12.0, 50.0, 2.0, 0.0, 0.0],
            "vent_h": [0.0, 1.0, 0.0, nan, 0.0, 3.0],
            "intubated": pd.Series(["no", "yes", "yes", "yes", "yes", None], dtype="str"),
            "gcs": pd.array([15, 15, 6, 6, 6, 7], dtype="Int64"),
            "disposition": pd.Series(["home", "icu", "home", "ward", "icu", "home"], dtype="str"),
            "mechanism": pd.Series(["fall"] * 6, dtype="str"),
        }
    )
    report = check_constraints(frame, spec.constraints)
    masks = {name: report.masks[name].tolist() for name in report.masks.columns}
    assert masks == {
        "icu_within_stay": [False, True, False, False, False, False],  # row 2: stay missing, not checked
        "stay_cap": [False] * 6,
        "intubated_ventilated": [False, False, True, False, True, False],  # row 3: vent_h missing
        "coma_not_home": [False, False, True, False, False, True],
        "coma_intubated_in_icu": [False, False, True, True, False, False],  # row 5: intubated missing
    }
    assert report.violation_rate == pytest.approx(5 / 6)
    assert report.rates["coma_not_home"] == pytest.approx(2 / 6)
    metrics = report.to_metrics()
    assert metrics["violating_rows"] == 5
    assert metrics["rules"]["icu_within_stay"] == {"rows": 1, "rate": round(1 / 6, 6)}


def test_checker_on_an_empty_frame_and_no_rules(tmp_path: Path) -> None:
    spec = _spec(tmp_path, RULES)
    empty = pd.DataFrame({c: pd.Series([], dtype="float64") for c in ("los_h", "icu_h", "vent_h", "gcs")})
    empty = empty.assign(intubated=pd.Series([], dtype="str"), disposition=pd.Series([], dtype="str"))
    assert check_constraints(empty, spec.constraints).violation_rate == 0.0
    none = check_constraints(pd.DataFrame({"a": [1, 2]}), ())
    assert none.violation_rate == 0.0 and none.counts == {} and none.violating.tolist() == [False, False]


@pytest.mark.parametrize("name", ["ed_trauma_sim", "neiss"])
def test_shipped_rules_are_described(name: str) -> None:
    spec = load_spec(REPO / "datasets" / f"{name}.yaml")
    assert len(spec.constraints) >= 8
    assert all(rule.description.strip() for rule in spec.constraints)


def test_simulated_rows_keep_the_ed_trauma_sim_rules() -> None:
    spec = load_spec(REPO / "datasets" / "ed_trauma_sim.yaml")
    report = check_constraints(simulate(n_rows=20_000, seed=5, spec=spec), spec.constraints)
    assert report.violation_rate == 0.0, report.counts


def test_public_neiss_sample_keeps_the_neiss_rules(neiss_dir: Path) -> None:
    from traumasynth.datasets import load_raw
    from traumasynth.spec.schema import conform

    spec = load_spec(REPO / "datasets" / "neiss.yaml")
    raw = load_raw(spec=spec, path=neiss_dir / "NEISS_17-21_sample.csv", n_rows=0, seed=0)
    report = check_constraints(conform(raw, spec, what="NEISS sample"), spec.constraints)
    assert report.rows == 10_000
    assert report.violation_rate == 0.0, report.counts

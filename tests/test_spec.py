from pathlib import Path

import pytest
import yaml

from traumasynth.core.errors import SpecError
from traumasynth.spec import DatasetSpec, load_spec

BASE = {
    "name": "mini",
    "description": "a tiny hand-written ED table",
    "columns": [
        {"name": "visit_id", "kind": "identifier", "role": "excluded", "description": "visit number"},
        {"name": "age", "kind": "integer", "bounds": [0, 110], "unit": "years", "description": "age"},
        {"name": "sex", "kind": "categorical", "categories": ["female", "male"], "description": "sex"},
        {
            "name": "mechanism",
            "kind": "categorical",
            "role": "target",
            "categories": ["fall", "other"],
            "description": "trauma mechanism",
        },
    ],
}


def write(tmp_path: Path, spec: dict) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_valid_spec_views(tmp_path):
    spec = load_spec(write(tmp_path, BASE))
    assert spec.target.name == "mechanism"
    assert spec.classes == ("fall", "other")
    assert spec.id_column.name == "visit_id"
    assert [c.name for c in spec.modelled_columns] == ["age", "sex", "mechanism"]
    assert [c.name for c in spec.prepared_columns] == ["visit_id", "age", "sex", "mechanism"]
    assert len(spec.spec_hash) == 64


def test_hash_changes_with_any_public_knowledge(tmp_path):
    spec = DatasetSpec.model_validate(BASE)
    wider = yaml.safe_load(yaml.safe_dump(BASE))
    wider["columns"][1]["bounds"] = [0, 120]
    assert DatasetSpec.model_validate(wider).spec_hash != spec.spec_hash
    assert DatasetSpec.model_validate(BASE).spec_hash == spec.spec_hash


def test_wording_fields_are_optional_and_not_hashed():
    spec = DatasetSpec.model_validate(BASE)
    worded = yaml.safe_load(yaml.safe_dump(BASE))
    worded["columns"][1]["aliases"] = ["years old"]
    worded["columns"][3]["labels"] = {"fall": ["fell", "slipped"]}
    with_words = DatasetSpec.model_validate(worded)
    assert with_words.column("mechanism").labels == {"fall": ("fell", "slipped")}
    assert with_words.spec_hash == spec.spec_hash  # a wording change needs no retraining


@pytest.mark.parametrize(
    ("column", "field", "message"),
    [
        (3, {"labels": {"jump": ["jumped"]}}, "unknown categories ['jump']"),
        (1, {"labels": {"fall": ["fell"]}}, "only for categorical"),
        (1, {"aliases": [" "]}, "empty words"),
    ],
)
def test_bad_wording_fields(column, field, message):
    bad = yaml.safe_load(yaml.safe_dump(BASE))
    bad["columns"][column].update(field)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        DatasetSpec.model_validate(bad)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s["columns"][2].pop("categories"), "needs a non-empty `categories`"),
        (lambda s: s["columns"][1].update(bounds=[10, 5]), "low < high"),
        (lambda s: s["columns"][1].pop("bounds"), "needs `bounds"),
        (lambda s: s["columns"][3].update(role="feature"), "exactly one column must have role `target`"),
        (lambda s: s["columns"].append(dict(s["columns"][1])), "duplicate column names"),
        (lambda s: s["columns"][1].update(kind="decimal"), "columns.1.kind"),
        (lambda s: s["columns"][2].update(transform="log1p"), "only for numeric"),
        (lambda s: s["columns"][0].update(role="feature"), "cannot be modelled"),
    ],
)
def test_invalid_specs_name_the_problem(tmp_path, edit, message):
    spec = yaml.safe_load(yaml.safe_dump(BASE))
    edit(spec)
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_spec(write(tmp_path, spec))


def test_missing_and_malformed_spec_files(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(bad)


def test_yes_no_categories_stay_labels(tmp_path):
    spec = yaml.safe_load(yaml.safe_dump(BASE))
    spec["columns"].append({"name": "alcohol", "kind": "categorical", "description": "alcohol suspected"})
    path = tmp_path / "spec.yaml"
    path.write_text(
        yaml.safe_dump(spec).replace(
            "description: alcohol suspected", "description: alcohol suspected\n  categories: [yes, no, unknown]"
        )
    )
    assert load_spec(path).column("alcohol").categories == ("yes", "no", "unknown")


def test_shipped_specs_load():
    for path in sorted((Path(__file__).resolve().parents[1] / "datasets").glob("*.yaml")):
        assert load_spec(path).name == path.stem


def test_top_and_bottom_codes_load_and_are_not_hashed(tmp_path):
    coded = yaml.safe_load(yaml.safe_dump(BASE))
    coded["columns"][1].update(top_code={"value": 90, "label": ">89"}, bottom_code={"value": 1})
    spec = load_spec(write(tmp_path, coded))
    age = spec.column("age")
    assert (age.top_code.value, age.top_code.label, age.bottom_code.value, age.bottom_code.label) == (
        90,
        ">89",
        1,
        None,
    )
    assert spec.spec_hash == DatasetSpec.model_validate(BASE).spec_hash  # how a file is read and released


@pytest.mark.parametrize(
    ("column", "field", "message"),
    [
        (2, {"top_code": {"value": 1}}, "only for numeric columns"),
        (1, {"top_code": {"value": 120}}, "`top_code.value` 120 lies outside the bounds [0, 110]"),
        (1, {"top_code": {"value": 89.5}}, "must be a whole number"),
        (1, {"top_code": {"value": 10}, "bottom_code": {"value": 10}}, "`bottom_code.value` must be below"),
        (1, {"top_code": {"value": 90, "label": ""}}, "top_code.label"),
    ],
)
def test_bad_codes_name_the_problem(tmp_path, column, field, message):
    bad = yaml.safe_load(yaml.safe_dump(BASE))
    bad["columns"][column].update(field)
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_spec(write(tmp_path, bad))

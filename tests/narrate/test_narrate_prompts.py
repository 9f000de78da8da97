"""Prompt templates: headers from rows, a byte-identical few-shot prefix, chat messages, bad versions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.narrate.conftest import PROMPTS
from traumasynth.core.errors import ParamsError, SpecError
from traumasynth.narrate.checking.factcheck import check_narrative
from traumasynth.narrate.checking.facts import load_lexicon
from traumasynth.narrate.prompts.templates import load_prompt
from traumasynth.spec import DatasetSpec


def test_header_renders_coded_values_and_skips_missing() -> None:
    template = load_prompt(prompts_dir=PROMPTS, dataset="ed_trauma_sim", version="v1")
    row = {
        "age": 7,
        "sex": "female",
        "mechanism": "road_traffic",
        "triage_level": 3,
        "gcs": pd.NA,
        "sbp": 104,
        "temperature": 36.94,
        "body_region": "wrist_hand",
        "injury_type": "fracture",
        "disposition": "home",
    }
    header = template.header(row)
    assert header.startswith("7-year-old girl, road traffic collision, Triage 3, SBP 104, temp 36.9 °C")
    assert "fracture of wrist/hand" in header and header.endswith("discharged home")
    assert "GCS" not in header  # missing value: field left out


def test_an_adult_header_leaves_out_unremarkable_vital_signs_and_a_child_keeps_them() -> None:
    template = load_prompt(prompts_dir=PROMPTS, dataset="ed_trauma_sim", version="v1")
    row = {"age": 40, "sex": "male", "mechanism": "fall", "gcs": 15, "sbp": 120, "heart_rate": 112,
           "resp_rate": 20, "spo2": 95, "temperature": 38.4, "pain_score": 4}  # fmt: skip
    # NEWS2's 0-point bands: GCS 15, SBP 111-219, RR 12-20 left out; HR 112, SpO2 95 %, 38.4 °C kept
    assert template.header(row) == "40-year-old man, fall, HR 112, SpO2 95%, temp 38.4 °C, pain 4/10"
    child = template.header({**row, "age": 6})
    assert all(f in child for f in ("GCS 15", "SBP 120", "RR 20"))  # children's normal ranges differ: all shown


def test_an_unremarkable_range_must_be_ordered(tmp_path: Path) -> None:
    target = tmp_path / "ed_trauma_sim" / "v1"
    target.mkdir(parents=True)
    for f in (PROMPTS / "ed_trauma_sim" / "v1").iterdir():
        (target / f.name).write_bytes(f.read_bytes())
    config = yaml.safe_load((target / "template.yaml").read_text())
    config["unremarkable"]["sbp"] = [219, 111]
    (target / "template.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ParamsError, match="unremarkable"):
        load_prompt(prompts_dir=tmp_path, dataset="ed_trauma_sim", version="v1")


def test_completion_prompts_share_a_byte_identical_prefix(sim_rows: pd.DataFrame, sim_spec: DatasetSpec) -> None:
    template = load_prompt(prompts_dir=PROMPTS, dataset="ed_trauma_sim", version="v1")
    template.check_spec(sim_spec)
    a, b = (template.render(r, prompt_format="completion").text for r in sim_rows.head(2).to_dict("records"))
    assert a is not None and b is not None and a != b
    assert a.startswith(template.completion_prefix) and b.startswith(template.completion_prefix)
    row = sim_rows.iloc[0].to_dict()
    opening = template.opening(row)  # the note's first words, written from the row: age, sex, mechanism
    assert opening.startswith(f"{row['age']}-year-old ") and opening.count(",") == 1
    assert a.endswith(f"\nNote: {opening}") and "Note: 34-year-old man, fall" in template.completion_prefix
    assert template.render(row, prompt_format="completion").note_prefix == opening


def test_chat_prompt_alternates_examples_then_the_row(sim_rows: pd.DataFrame) -> None:
    template = load_prompt(prompts_dir=PROMPTS, dataset="ed_trauma_sim", version="v1")
    messages = template.render(sim_rows.iloc[0].to_dict(), prompt_format="chat").messages
    assert messages is not None
    roles = [m["role"] for m in messages]
    assert roles[0] == "system" and roles[-1] == "user"
    assert roles[1:-1] == ["user", "assistant"] * ((len(roles) - 2) // 2)


def test_unknown_version_lists_the_existing_ones() -> None:
    with pytest.raises(ParamsError, match=r"Versions for 'ed_trauma_sim': \['v1'\]"):
        load_prompt(prompts_dir=PROMPTS, dataset="ed_trauma_sim", version="v9")


def test_template_naming_an_unknown_column_is_refused(
    small_prompts: Path, sim_spec: DatasetSpec, tmp_path: Path
) -> None:
    import shutil

    root = tmp_path / "prompts"
    shutil.copytree(small_prompts, root)
    tpl = root / "ed_trauma_sim" / "v1" / "template.yaml"
    tpl.write_text(tpl.read_text().replace('"GCS {gcs}"', '"GCS {gcs_total}"'))
    template = load_prompt(prompts_dir=root, dataset="ed_trauma_sim", version="v1")
    with pytest.raises(SpecError, match="gcs_total"):
        template.check_spec(sim_spec)


def test_an_unremarkable_range_for_a_category_is_refused(small_prompts: Path, sim_spec: DatasetSpec) -> None:
    template = load_prompt(prompts_dir=small_prompts, dataset="ed_trauma_sim", version="v1")
    template.check_spec(sim_spec)  # the real ranges are all for numeric columns
    config = yaml.safe_load((small_prompts / "ed_trauma_sim" / "v1" / "template.yaml").read_text())
    assert set(config["unremarkable"]) == {"gcs", "sbp", "heart_rate", "resp_rate", "spo2", "temperature"}
    bad = template._cfg.model_copy(update={"unremarkable": {**config["unremarkable"], "sex": [0, 1]}})
    template._cfg = bad
    with pytest.raises(SpecError, match=r"\['sex'\], which are not numeric"):
        template.check_spec(sim_spec)


def test_neiss_header_uses_coder_age_and_sex() -> None:
    from tests.conftest import DATASETS
    from traumasynth.spec import load_spec

    template = load_prompt(prompts_dir=PROMPTS, dataset="neiss", version="v1")
    template.check_spec(load_spec(DATASETS / "neiss.yaml"))
    row = {"age": 81.0, "sex": "FEMALE", "mechanism": "fall", "product_group_1": "home_furnishings",
           "location": "APART.", "body_part": "HEAD", "diagnosis": "INTERNAL INJURY", "alcohol": "No/Unk",
           "drug": "Yes", "disposition": "TREATED AND ADMITTED/HOSPITALIZED"}  # fmt: skip
    assert template.header(row) == (
        "81YOF; MECHANISM FALL; PRODUCT HOME FURNISHINGS; AT APARTMENT; BODY PART HEAD; DX INTERNAL INJURY; "
        "DRUGS INVOLVED; ADMITTED"
    )
    assert template.render(row, prompt_format="completion").text.endswith("NARRATIVE: 81YOF")  # the opening


@pytest.mark.parametrize("dataset", ["ed_trauma_sim", "neiss"])
def test_every_example_note_starts_with_its_opening_and_contradicts_nothing(dataset: str) -> None:
    """The model copies the examples: each must open as the prompt opens a note, and be faithful."""
    template = load_prompt(prompts_dir=PROMPTS, dataset=dataset, version="v1")
    lexicon = load_lexicon(dataset=dataset)
    assert lexicon is not None
    examples = yaml.safe_load((PROMPTS / dataset / "v1" / "examples.yaml").read_text())
    for example in examples:
        assert example["note"].startswith(template.opening(example["facts"])), example["note"]
        check = check_narrative(narrative=example["note"], row=example["facts"], lexicon=lexicon)
        assert not check.contradictions, (example["note"], check.contradictions)

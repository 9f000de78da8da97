"""Prompt templates: headers from rows, a byte-identical few-shot prefix, chat messages, bad versions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.narrate.conftest import PROMPTS
from traumasynth.errors import ParamsError, SpecError
from traumasynth.narrate import check_narrative, load_lexicon, load_prompt
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

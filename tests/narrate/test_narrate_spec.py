"""Prompt and fact lexicon made from a dataset specification, and the fallback order to them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from traumasynth.narrate.checking.factcheck import check_narrative
from traumasynth.narrate.checking.spec_lexicon import spec_lexicon
from traumasynth.narrate.prompts.spec_prompt import SpecPrompt
from traumasynth.narrate.prompts.templates import PromptTemplate
from traumasynth.narrate.sources import narration_lexicon, narration_prompt
from traumasynth.spec import DatasetSpec, load_spec

#: A user's own table: descriptions and units only, no aliases, no labels, no prompt, no lexicon.
MINI = {
    "name": "mini_ed",
    "description": "Injury attendances of a small emergency department.",
    "columns": [
        {"name": "visit_id", "kind": "identifier", "role": "excluded", "description": "Visit number."},
        {"name": "note", "kind": "text", "role": "narrative", "description": "Free-text triage note."},
        {"name": "secret_code", "kind": "categorical", "role": "excluded", "categories": ["a1", "b2"],
         "description": "Internal code, never modelled."},
        {"name": "patient_age", "kind": "integer", "unit": "years", "bounds": [0, 110],
         "description": "Age of the patient at arrival."},
        {"name": "gender", "kind": "categorical", "categories": ["female", "male"], "description": "Sex."},
        {"name": "heart_rate", "kind": "integer", "unit": "beats/min", "bounds": [20, 250], "nullable": True,
         "description": "Heart rate at triage."},
        {"name": "pain_score", "kind": "integer", "bounds": [0, 10], "nullable": True,
         "description": "Pain on a 0-10 scale."},
        {"name": "alcohol", "kind": "categorical", "categories": ["yes", "no", "unknown"],
         "description": "Alcohol involvement noted."},
        {"name": "intubated", "kind": "categorical", "categories": ["yes", "no"],
         "description": "Intubated in the ED."},
        {"name": "injury", "kind": "categorical", "categories": ["fracture", "sprain", "open_wound", "other"],
         "description": "Nature of the main injury."},
        {"name": "place", "kind": "categorical", "categories": ["home", "road", "other"],
         "description": "Place of injury."},
        {"name": "outcome", "kind": "categorical", "categories": ["home", "admitted", "died"],
         "description": "Outcome of the visit."},
        {"name": "cause", "kind": "categorical", "role": "target", "categories": ["fall", "road_traffic", "assault"],
         "description": "Injury mechanism."},
    ],
}  # fmt: skip
ROW = {"patient_age": 34, "gender": "male", "heart_rate": 80, "pain_score": None, "alcohol": "no",
       "intubated": "no", "injury": "sprain", "place": "road", "outcome": "home", "cause": "fall"}  # fmt: skip


@pytest.fixture(scope="module")
def spec() -> DatasetSpec:
    return DatasetSpec.model_validate(MINI)


def test_prompt_shows_every_modelled_column_and_nothing_else(spec):
    prompt = SpecPrompt(spec=spec)
    assert prompt.columns == sorted(c.name for c in spec.modelled_columns)
    rendered = prompt.render(ROW | {"pain_score": 3}, prompt_format="completion")
    assert rendered.text is not None and rendered.shared_prefix is not None
    assert rendered.text.startswith(rendered.shared_prefix)
    facts = rendered.text[len(rendered.shared_prefix) :]
    for shown in ("age of the patient: 34 years", "sex: male", "heart rate: 80 beats/min", "pain score: 3",
                  "alcohol involvement noted: no", "injury: sprain", "injury mechanism: fall"):  # fmt: skip
        assert shown in facts.lower(), shown
    assert "secret" not in facts and "a1" not in facts and "triage note" not in facts.lower()
    assert facts.index("34 years") < facts.index("sex") < facts.index("injury mechanism") < facts.index("heart rate")
    assert rendered.note_prefix == "34-year-old man, fall,"  # the note's opening, written for a base model
    assert rendered.text.endswith("Note: 34-year-old man, fall,")
    assert spec.description in rendered.shared_prefix
    assert "pain" not in prompt.header(ROW)  # a missing value is left out
    assert "open wound" in prompt.header(ROW | {"injury": "open_wound"})  # underscores as spaces


def test_prompt_chat_format_and_examples(spec):
    chat = SpecPrompt(spec=spec).render(ROW, prompt_format="chat")
    assert chat.messages is not None and chat.messages[0]["role"] == "system"
    assert spec.description in chat.messages[0]["content"]
    assert chat.messages[-1]["content"].startswith("Facts:")
    few = SpecPrompt(spec=spec, examples=[{"facts": ROW, "note": "34-year-old man fell on the road."}])
    text = few.render(ROW, prompt_format="completion")
    assert "Note: 34-year-old man fell on the road." in few.completion_prefix
    assert text.note_prefix == ""  # with examples the model writes the opening itself
    assert few.sha256 != SpecPrompt(spec=spec).sha256


def test_lexicon_reads_numbers_units_and_core_facts(spec):
    lexicon = spec_lexicon(spec)
    assert set(lexicon.core_facts) == {"patient_age", "gender", "cause"}
    assert {r.column for r in lexicon.facts} == {c.name for c in spec.modelled_columns}
    note = "34-year-old man, fell on the road. HR 80, heart rate 80, 80 bpm. Sprain of the ankle, discharged home."
    check = check_narrative(narrative=note, row=ROW, lexicon=lexicon)
    assert check.contradictions == (), check
    assert {"patient_age", "gender", "heart_rate", "injury", "place"} <= set(check.agreed)
    for wrong, fact in [
        ("34-year-old woman, fell.", "gender"),
        ("35-year-old man, fell.", "patient_age"),
        ("34-year-old man, fell. Heart rate 120.", "heart_rate"),
        ("34-year-old man, fell. 120 beats/min.", "heart_rate"),
        ("34-year-old man, fell. Pain 4/10.", "pain_score"),  # a number the row does not have
        ("34-year-old man, fell. Fracture of the wrist.", "injury"),  # clinical content the row does not support
        ("34-year-old man, road traffic collision.", "cause"),
        ("34-year-old man, fell, alcohol on breath.", "alcohol"),
        ("34-year-old man, fell. Intubated on arrival.", "intubated"),
    ]:
        found = check_narrative(narrative=wrong, row=ROW, lexicon=lexicon)
        assert found.contradicts((fact,)), (wrong, found)


def test_lexicon_negations_and_shared_words(spec):
    lexicon = spec_lexicon(spec)
    yes = ROW | {"alcohol": "yes", "intubated": "yes", "injury": "fracture"}
    for note, fact in [("34-year-old man, fell, no alcohol.", "alcohol"),
                       ("34-year-old man, fell, not intubated.", "intubated"),
                       ("34-year-old man, fell, X-ray shows no fracture.", "injury")]:  # fmt: skip
        assert check_narrative(narrative=note, row=yes, lexicon=lexicon).contradicts((fact,)), note
    # the prompt's header form, copied: "intubated: no" denies, it does not state intubation
    said_no = check_narrative(narrative="34-year-old man, fell, intubated: no.", row=ROW | {"intubated": "no"},
                              lexicon=lexicon)  # fmt: skip
    assert said_no.contradictions == () and "intubated" in said_no.agreed
    assert check_narrative(narrative="34-year-old man, fell, intubated: no.", row=yes, lexicon=lexicon).contradicts(
        ("intubated",)
    )
    fine = "34-year-old man, fell on the road, no alcohol, not intubated, no fracture of the leg. Sent home."
    assert check_narrative(narrative=fine, row=ROW, lexicon=lexicon).contradictions == ()
    # "home" is a place and an outcome: read as the outcome the row has, it contradicts no place
    assert not check_narrative(narrative="34-year-old man, fell. Home.", row=ROW, lexicon=lexicon).contradicts(
        ("place",)
    )
    assert check_narrative(narrative="34-year-old man, fell. Home.", row=ROW | {"outcome": "died"},
                           lexicon=lexicon).contradicts(("place",))  # fmt: skip
    # "road" (place) is not read inside "road traffic" (mechanism)
    rtc = check_narrative(narrative="34-year-old man, road traffic collision at home.", row=ROW | {"place": "home"},
                          lexicon=lexicon)  # fmt: skip
    assert not rtc.contradicts(("place",)) and rtc.contradicts(("cause",))


def test_lexicon_uses_the_optional_wording_fields(spec):
    worded = yaml.safe_load(yaml.safe_dump(MINI))
    worded["columns"][5]["aliases"] = ["HR", "pulse"]
    worded["columns"][9]["labels"] = {"open_wound": ["laceration"]}
    lexicon = spec_lexicon(DatasetSpec.model_validate(worded))
    row = ROW | {"injury": "open_wound"}
    assert check_narrative(narrative="34-year-old man, fell. Pulse 95.", row=row, lexicon=lexicon).contradicts(
        ("heart_rate",)
    )
    assert "injury" in check_narrative(narrative="34-year-old man, fell. Laceration.", row=row, lexicon=lexicon).agreed


def test_fallback_order(tmp_path: Path, spec, caplog):
    caplog.set_level(logging.INFO, logger="traumasynth.narrate.sources")
    hand = narration_prompt(prompts_dir=REPO / "prompts", spec=load_spec(REPO / "datasets" / "ed_trauma_sim.yaml"),
                            version="v1")  # fmt: skip
    assert isinstance(hand, PromptTemplate)
    made = narration_prompt(prompts_dir=tmp_path, spec=spec, version="v1")
    assert isinstance(made, SpecPrompt) and made.version == "spec"
    folder = tmp_path / spec.name / "v1"
    folder.mkdir(parents=True)
    (folder / "examples.yaml").write_text(yaml.safe_dump([{"facts": ROW, "note": "A 34-year-old man fell."}]))
    with_examples = narration_prompt(prompts_dir=tmp_path, spec=spec, version="v1")
    assert isinstance(with_examples, SpecPrompt) and "A 34-year-old man fell." in with_examples.completion_prefix
    assert narration_lexicon(spec=spec, directory=tmp_path) == spec_lexicon(spec)
    (tmp_path / f"{spec.name}.yaml").write_text(
        yaml.safe_dump(
            {
                "facts": [
                    {"name": "age", "column": "patient_age", "kind": "number", "patterns": [r"(?P<value>\d+) years"]}
                ]
            }
        )  # fmt: skip
    )
    assert [r.name for r in narration_lexicon(spec=spec, directory=tmp_path).facts] == ["age"]
    said = " | ".join(r.getMessage() for r in caplog.records)
    assert "hand-written" in said and "made from the spec" in said


def test_shipped_specs_make_a_prompt_and_a_lexicon():
    for path in sorted((REPO / "datasets").glob("*.yaml")):
        spec = load_spec(path)
        lexicon = spec_lexicon(spec)
        assert spec.target.name in lexicon.core_facts
        assert SpecPrompt(spec=spec).columns == sorted(c.name for c in spec.modelled_columns)

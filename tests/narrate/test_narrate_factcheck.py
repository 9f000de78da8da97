"""Fact checker on hand-written faithful and unfaithful notes (no model involved)."""

from __future__ import annotations

import math

import pytest

from traumasynth.narrate.checking.factcheck import check_narrative
from traumasynth.narrate.checking.facts import Lexicon, extract_facts, load_lexicon

ROW = {
    "age": 34,
    "sex": "male",
    "mechanism": "fall",
    "triage_level": 4,
    "gcs": 15,
    "sbp": 132,
    "heart_rate": 84,
    "resp_rate": 16,
    "spo2": 99,
    "temperature": math.nan,
    "pain_score": 6,
    "body_region": "wrist_hand",
    "injury_type": "fracture",
    "disposition": "home",
}
FAITHFUL = (
    "34-year-old man, fell from a stepladder at home onto his outstretched hand. Triage 4. GCS 15, SBP 132, "
    "HR 84, RR 16, SpO2 99%, pain 6/10. X-ray shows a distal radius fracture. Cast applied, discharged home."
)


def test_faithful_note_has_no_contradiction(lexicon: Lexicon) -> None:
    check = check_narrative(narrative=FAITHFUL, row=ROW, lexicon=lexicon)
    assert check.contradictions == ()
    assert check.omissions == ()
    assert check.score == 1.0
    assert {"age", "sex", "mechanism", "triage", "sbp", "pain", "injury_type", "disposition"} <= set(check.agreed)


@pytest.mark.parametrize(
    ("note", "fact"),
    [
        (FAITHFUL.replace("34-year-old man", "34-year-old woman"), "sex"),
        (FAITHFUL.replace("34-year-old", "43-year-old"), "age"),
        (FAITHFUL.replace("fell from a stepladder at home", "punched in a fight"), "mechanism"),
        (FAITHFUL.replace("Triage 4", "Triage 2"), "triage"),
        (FAITHFUL.replace("HR 84", "HR 120"), "heart_rate"),
        (FAITHFUL.replace("GCS 15", "GCS 151"), "gcs"),  # a garbled value is a contradiction, not silence
        (FAITHFUL.replace("pain 6/10", "pain 6/10, temp 38.2 °C"), "temperature"),
        (FAITHFUL.replace("a distal radius fracture", "a wrist sprain"), "injury_type"),
        (FAITHFUL.replace("discharged home", "admitted to ICU"), "disposition"),
        (
            FAITHFUL.replace("onto his outstretched hand", "onto his chest").replace("distal radius", "rib"),
            "body_region",
        ),
        (FAITHFUL + " She was given analgesia.", "sex"),
    ],
)
def test_unfaithful_note_is_caught(lexicon: Lexicon, note: str, fact: str) -> None:
    check = check_narrative(narrative=note, row=ROW, lexicon=lexicon)
    assert [c.split(":")[0] for c in check.contradictions] == [fact]
    assert check.score < 1.0


def test_negated_and_compatible_cues_are_not_contradictions(lexicon: Lexicon) -> None:
    # "no fracture" is negated; a fall at work is compatible with the mechanism `work`.
    row = {**ROW, "mechanism": "work", "injury_type": "sprain", "body_region": "lower_limb"}
    note = "34-year-old man fell from scaffolding at work, twisted ankle. Triage 4. X-ray shows no fracture."
    check = check_narrative(narrative=note, row=row, lexicon=lexicon)
    assert check.contradictions == ()


def test_missing_core_facts_are_omissions(lexicon: Lexicon) -> None:
    check = check_narrative(narrative="Triage 4. GCS 15.", row=ROW, lexicon=lexicon)
    assert set(check.omissions) == {"age", "sex", "mechanism"}
    assert check.score == pytest.approx(2 / 5)


def test_infant_age_in_months(lexicon: Lexicon) -> None:
    facts = extract_facts(text="8-month-old girl rolled off the changing table.", lexicon=lexicon)
    assert facts.get("age") == {0.0}
    assert facts.get("sex") == {"female"}
    assert facts.get("mechanism") == set()  # "rolled off" is not a cue: an omission, not a contradiction


@pytest.mark.parametrize("dataset", ["ed_trauma_sim", "neiss"])
def test_every_few_shot_example_is_faithful_to_its_facts(dataset: str) -> None:
    import yaml

    from tests.conftest import DATASETS
    from tests.narrate.conftest import PROMPTS
    from traumasynth.spec import load_spec

    lexicon = load_lexicon(dataset=dataset)
    assert lexicon is not None
    lexicon.check_spec(load_spec(DATASETS / f"{dataset}.yaml"))
    for example in yaml.safe_load((PROMPTS / dataset / "v1" / "examples.yaml").read_text()):
        check = check_narrative(narrative=example["note"], row=example["facts"], lexicon=lexicon)
        assert check.contradictions == () and check.omissions == (), example["note"]


def test_neiss_coder_style_slips_are_caught() -> None:
    lexicon = load_lexicon(dataset="neiss")
    assert lexicon is not None
    row = {"age": 72.0, "sex": "FEMALE", "mechanism": "fall", "diagnosis": "CONTUSIONS, ABR.", "alcohol": "No/Unk"}
    ok = check_narrative(
        narrative="72YOF FELL IN BATHROOM STRUCK HEAD ON TUB DX: HEAD CONTUSION", row=row, lexicon=lexicon
    )
    assert ok.contradictions == ()
    bad = check_narrative(narrative="27YOM BITTEN BY DOG, ETOH DX: PUNCTURE", row=row, lexicon=lexicon)
    assert {c.split(":")[0] for c in bad.contradictions} == {"age", "sex", "mechanism", "diagnosis", "alcohol"}


def test_neiss_disposition_and_misspelt_fall() -> None:
    lexicon = load_lexicon(dataset="neiss")
    assert lexicon is not None
    row = {"age": 81.0, "sex": "FEMALE", "mechanism": "fall", "disposition": "TREATED AND ADMITTED/HOSPITALIZED"}
    check = check_narrative(
        narrative="81YOF FALLED FROM BED AT HOME DX: HEAD INJURY; RELEASED", row=row, lexicon=lexicon
    )
    assert check.contradictions == ("disposition: note says TREATED/EXAMINED AND RELEASED, row says "
                                    "TREATED AND ADMITTED/HOSPITALIZED",)  # fmt: skip
    assert "mechanism" in check.agreed


def test_number_words_are_read_as_digits(lexicon: Lexicon) -> None:
    from traumasynth.narrate.checking.facts import numbers_as_digits

    assert (
        numbers_as_digits("Forty-two-year-old, GCS fourteen, HR one hundred and ten") == "42-year-old, GCS 14, HR 110"
    )
    check = check_narrative(narrative=FAITHFUL.replace("34-year-old", "Forty-three-year-old"), row=ROW, lexicon=lexicon)
    assert [c.split(":")[0] for c in check.contradictions] == ["age"]


def test_pronouns_of_the_patient_not_of_a_relative(lexicon: Lexicon) -> None:
    ok = check_narrative(narrative=FAITHFUL + " His wife said she saw him fall.", row=ROW, lexicon=lexicon)
    assert ok.contradictions == ()
    bad = check_narrative(narrative=FAITHFUL.replace("onto his", "onto her"), row=ROW, lexicon=lexicon)
    assert [c.split(":")[0] for c in bad.contradictions] == ["sex"]


@pytest.mark.parametrize(
    ("column", "value", "note", "fact"),
    [
        ("imaging", "both", "34-year-old man fell at home. X-ray of the wrist, no CT.", "imaging"),
        ("imaging", "xray", "34-year-old man fell at home. No imaging.", "imaging"),
        ("injury_type", "fracture", "34-year-old man fell at home. X-ray shows no fracture.", "injury_type"),
        ("alcohol_suspected", "yes", "34-year-old man fell at home, no alcohol suspected.", "alcohol"),
        ("arrival_mode", "own_means", "34-year-old man fell at home, brought in by ambulance.", "arrival_mode"),
        ("place", "road", "34-year-old man fell at home.", "place"),
    ],
)
def test_denials_and_header_facts(lexicon: Lexicon, column: str, value: str, note: str, fact: str) -> None:
    row = {"age": 34, "sex": "male", "mechanism": "fall", column: value}
    check = check_narrative(narrative=note, row=row, lexicon=lexicon)
    assert [c.split(":")[0] for c in check.contradictions] == [fact]


def test_a_denied_value_the_row_lacks_is_no_contradiction(lexicon: Lexicon) -> None:
    row = {"age": 34, "sex": "male", "mechanism": "fall", "imaging": "xray", "injury_type": "sprain"}
    check = check_narrative(
        narrative="34-year-old man fell at home. X-ray shows no fracture, no CT.", row=row, lexicon=lexicon
    )
    assert check.contradictions == ()
    assert "imaging" in check.agreed


@pytest.mark.parametrize(
    ("note", "gcs", "wrong"),
    [
        ("34-year-old man, fall at home. Drowsy, no vomiting.", 15, True),  # drowsy states GCS <= 14
        ("34-year-old man, fall at home. Drowsy, no vomiting.", 13, False),
        ("34-year-old man, fall at home. Not drowsy, no vomiting.", 15, False),  # a denied word states nothing
        ("34-year-old man, fall at home, comatose on arrival.", 12, True),
        ("34-year-old man, fall at home. Drowsy.", math.nan, False),  # no GCS recorded: nothing to contradict
    ],
)
def test_words_that_state_a_range_are_checked_against_the_number(
    lexicon: Lexicon, note: str, gcs: float, wrong: bool
) -> None:
    check = check_narrative(narrative=note, row={**ROW, "gcs": gcs}, lexicon=lexicon)
    assert check.contradicts(("gcs",)) is wrong, check.contradictions

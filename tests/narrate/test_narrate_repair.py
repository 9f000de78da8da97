"""Repair of a note: contradicted clauses cut, the rest kept word for word, then checked again."""

from __future__ import annotations

import pytest

from tests.conftest import DATASETS
from tests.narrate.test_narrate_factcheck import FAITHFUL, ROW
from traumasynth.narrate.checking.facts import Lexicon
from traumasynth.narrate.checking.loops import find_loop
from traumasynth.narrate.checking.repair import repair_narrative
from traumasynth.narrate.checking.unsupported import SupportRules
from traumasynth.spec import load_spec


def test_a_faithful_note_is_kept_as_it_is(lexicon: Lexicon) -> None:
    repaired = repair_narrative(narrative=FAITHFUL, row=ROW, lexicon=lexicon)
    assert repaired.text == FAITHFUL
    assert repaired.clauses_cut == 0 and repaired.draft_contradictions == 0
    assert repaired.check.faithful


def test_only_the_wrong_clause_is_cut(lexicon: Lexicon) -> None:
    note = "34-year-old man, fell at home, brought in by ambulance. Triage 4. HR 84, SpO2 97%, pain 6/10."
    row = {**ROW, "arrival_mode": "own_means", "place": "home"}
    repaired = repair_narrative(narrative=note, row=row, lexicon=lexicon)
    assert repaired.draft_contradictions == 2  # arrival mode and SpO2
    assert repaired.clauses_cut == 2
    assert repaired.text == "34-year-old man, fell at home. Triage 4. HR 84, pain 6/10."
    assert repaired.check.faithful and not repaired.check.omissions


def test_a_wrong_core_fact_leaves_an_omission_for_another_candidate(lexicon: Lexicon) -> None:
    note = "52-year-old man, fell at home. Triage 4."
    repaired = repair_narrative(narrative=note, row=ROW, lexicon=lexicon)
    assert repaired.check.faithful
    assert "age" in repaired.check.omissions  # the runner then tries another seed


def test_a_denial_is_cut_like_any_wrong_statement(lexicon: Lexicon) -> None:
    note = "34-year-old man, fell at home. X-ray of the wrist, no fracture seen. Discharged home."
    repaired = repair_narrative(narrative=note, row=ROW, lexicon=lexicon)
    assert "fracture" not in repaired.text
    assert repaired.text.startswith("34-year-old man, fell at home. X-ray of the wrist.")
    assert repaired.check.faithful


def test_decimals_and_thousands_do_not_split_sentences_or_clauses(lexicon: Lexicon) -> None:
    row = {**ROW, "temperature": 37.5}
    note = "34-year-old man, fell at home. Temp 37.5 °C, HR 90. Walked 1,000 metres before."
    repaired = repair_narrative(narrative=note, row=row, lexicon=lexicon)
    assert repaired.text == "34-year-old man, fell at home. Temp 37.5 °C. Walked 1,000 metres before."
    assert repaired.check.faithful


def test_a_note_with_nothing_right_becomes_empty_and_unfaithful_is_never_kept(lexicon: Lexicon) -> None:
    note = "52-year-old woman, hit by a car."
    repaired = repair_narrative(narrative=note, row=ROW, lexicon=lexicon)
    assert repaired.text == ""
    assert repaired.check.faithful and set(repaired.check.omissions) >= {"age", "sex", "mechanism"}


# --- unsupported statements and loops (issue 27) ------------------------------------------------


@pytest.fixture(scope="module")
def sim_rules() -> SupportRules:
    return SupportRules.from_spec(load_spec(DATASETS / "ed_trauma_sim.yaml"))


def test_the_clause_of_an_invented_number_is_cut_and_the_note_checked_again(
    lexicon: Lexicon, sim_rules: SupportRules
) -> None:
    note = "34-year-old man, fell at home. One of 1000 patients seen today, HR 84. A 3 cm cut, triage 4."
    repaired = repair_narrative(narrative=note, row=ROW, lexicon=lexicon, statements=sim_rules)
    assert repaired.draft_statements is not None and len(repaired.draft_statements.unsupported) == 2
    assert repaired.text == "34-year-old man, fell at home. HR 84. Triage 4."
    assert repaired.clauses_cut == 2
    assert repaired.statements is not None and repaired.statements.problems == 0  # re-checked clean
    assert repaired.check.faithful and not repaired.check.omissions


def test_without_the_rules_an_invented_number_stays(lexicon: Lexicon) -> None:
    note = "34-year-old man, fell at home. One of 1000 patients seen today."
    repaired = repair_narrative(narrative=note, row=ROW, lexicon=lexicon)
    assert repaired.text == note and repaired.statements is None


def test_a_figure_split_from_its_name_by_a_comma_is_still_cut(lexicon: Lexicon, sim_rules: SupportRules) -> None:
    # "Heart rate" and its wrong figure sit in two clauses: the unit alone ties 140 to the row's 84
    note = "34-year-old man, fell at home. Heart rate, 140 beats/min. Triage 4."
    repaired = repair_narrative(narrative=note, row=ROW, lexicon=lexicon, statements=sim_rules)
    assert "140" not in repaired.text and repaired.text.startswith("34-year-old man, fell at home.")
    assert repaired.statements is not None and repaired.statements.problems == 0


@pytest.mark.parametrize(
    ("note", "kept"),
    [
        ("34-year-old man, fell at home. No, No, No, No, No, No", "34-year-old man, fell at home. No."),
        (
            "34-year-old man, fell at home. Drown, no imaging. Drown, no X-ray. Drown, no CT. Drown, no MRI. Drown, no",
            "34-year-old man, fell at home. Drown, no imaging.",
        ),
        ("34-year-old man, fell at home with the patient patient patient patient", "34-year-old man."),
    ],
)
def test_the_looping_part_of_a_note_is_cut(lexicon: Lexicon, sim_rules: SupportRules, note: str, kept: str) -> None:
    assert find_loop(note) is not None
    repaired = repair_narrative(narrative=note, row=ROW, lexicon=lexicon, statements=sim_rules)
    assert repaired.text == kept
    assert repaired.draft_statements is not None and repaired.draft_statements.loop is not None
    assert repaired.statements is not None and repaired.statements.loop is None and find_loop(repaired.text) is None
    assert repaired.clauses_cut > 0

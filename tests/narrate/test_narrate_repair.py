"""Repair of a note: contradicted clauses cut, the rest kept word for word, then checked again."""

from __future__ import annotations

from tests.narrate.test_narrate_factcheck import FAITHFUL, ROW
from traumasynth.narrate.checking.facts import Lexicon
from traumasynth.narrate.checking.repair import repair_narrative


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

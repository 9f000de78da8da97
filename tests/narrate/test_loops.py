"""The loop check: a phrase repeated in a row, or many times anywhere."""

from __future__ import annotations

import pytest

from traumasynth.narrate.checking.loops import find_loop


@pytest.mark.parametrize(
    ("note", "loop"),
    [
        ("45-year-old man, fall. No, No, No, No, No, No", "no ×6"),
        ("The patient, patient, patient was seen.", "patient ×3"),
        ("Drown, no imaging. Drown, no X-ray. Drown, no imaging. Drown, no X-ray. Drown, no imaging. Drown", None),
    ],
)
def test_the_issues_loops_are_found(note: str, loop: str | None) -> None:
    found = find_loop(note)
    assert found is not None
    if loop is not None:
        assert found == loop


@pytest.mark.parametrize(
    "note",
    [
        "34-year-old man, fall from a stepladder at home onto his outstretched right hand. Came by own means. "
        "Triage 4, pain 6/10. X-ray shows a distal radius fracture. Cast applied, discharged home.",
        "C2 Vertebra, C3 Vertebra, C4 Vertebra, C5 Vertebra",
        "Fracture of the arm, wound of the leg, contusion of the chest, sprain of the wrist, burn of the hand.",
    ],
)
def test_ordinary_notes_and_lists_do_not_loop(note: str) -> None:
    assert find_loop(note) is None

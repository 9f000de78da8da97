"""Clinical findings a note states that its row does not hold (narrate/checking/findings.py).

The notes below are the inventions issue 27 read in Gemma 3 270M's notes on the ICU-registry
layout ("taken off a ventilator" without ventilation, "in a coma" at GCS 9, a history of heart
failure and a penicillin allergy in a table with no history), which the number, date and code
checks did not see.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.narrate.icu_registry_row import REGISTRY_SPEC, registry_row
from tests.narrate.test_narrate_spec import MINI
from traumasynth.narrate.checking.findings import finding_problems, finding_rules
from traumasynth.narrate.checking.repair import repair_narrative
from traumasynth.narrate.checking.spec_lexicon import spec_lexicon
from traumasynth.narrate.checking.unsupported import SupportRules
from traumasynth.spec import DatasetSpec, load_spec


@pytest.fixture(scope="module")
def icu() -> tuple:
    return finding_rules(load_spec(REGISTRY_SPEC))


@pytest.mark.parametrize(
    ("note", "said"),
    [
        ("66-year-old man, low fall, taken off a ventilator on day 2.", "ventilator (ventilation), row says "
                                                                         "ventilation_hours empty"),
        ("66-year-old man, low fall, intubated in the ED.", "intubated (ventilation)"),
        ("66-year-old man, low fall, in a coma on arrival.", "coma (coma), row says gcs_ed 14"),
        ("Known heart failure, CHF.", "heart failure (heart failure), not in the row"),
        ("Allergic reaction to penicillin.", "Allergic (allergy), not in the row"),
        ("Background of diabetes and renal failure.", "diabetes (diabetes), not in the row"),
        ("Went to theatre for a laparotomy.", "theatre (surgery), not in the row"),
        ("He died in hospital.", "died (death), row says outcome alive"),
    ],
)  # fmt: skip
def test_a_finding_the_row_does_not_hold_is_unsupported(icu, note, said):
    found = finding_problems(note, registry_row(), icu)
    assert any(line == f"finding: note says {said}" or said in line for line in found), found


@pytest.mark.parametrize(
    ("note", "changes"),
    [
        ("Ventilated for 13 hours.", {"ventilation_hours": 13.2}),
        ("Comatose on arrival.", {"gcs_ed": 6}),
        ("Glasgow Coma Scale 14.", {}),  # the scale's name, not a coma
        ("Not ventilated, no loss of consciousness.", {}),
        ("No LOC. Lack of seizures.", {}),
        ("Died on day 3.", {"outcome": "dead"}),
        ("In shock, SBP 70.", {"sbp_ed": 70}),
    ],
)
def test_a_finding_the_row_holds_or_the_note_denies_is_not(icu, note, changes):
    assert finding_problems(note, registry_row(**changes), icu) == []


def test_a_negation_counts_within_its_own_clause_only(icu):
    assert finding_problems("No fracture, intubated.", registry_row(), icu)
    assert not finding_problems("No fracture, not intubated.", registry_row(), icu)


def test_a_no_written_after_the_finding_denies_it():
    """Gemma 3 270M copies the prompt's header form: "operation: N" says no operation (an unseen falls
    layout: 7 of 48 drafts were flagged for it)."""
    rules = finding_rules(DatasetSpec.model_validate(MINI))
    row = {"intubated": "no", "outcome": "home", "heart_rate": 80}
    assert finding_problems("Intubated: N, operation = no. Ventilation: none.", row, rules) == []
    assert finding_problems("Intubated: yes.", row, rules)
    assert finding_problems("Intubated: N/A.", row, rules)  # not a no
    assert finding_problems("Operation: Nissen fundoplication.", row, rules)


def test_yes_no_columns_and_categories_hold_their_findings():
    rules = finding_rules(DatasetSpec.model_validate(MINI))
    row = {"intubated": "yes", "outcome": "died", "heart_rate": 80}
    assert finding_problems("Intubated, died in the ED.", row, rules) == []
    row = {"intubated": "no", "outcome": "home", "heart_rate": 80}
    assert len(finding_problems("Intubated, died in the ED. Tachycardic.", row, rules)) == 3


def test_the_shipped_tables_read_their_own_wording_without_alarms():
    neiss = finding_rules(load_spec(REPO / "datasets" / "neiss.yaml"))
    row = {"diagnosis": "ELECTRIC SHOCK", "disposition": "TREATED/EXAMINED AND RELEASED"}
    assert finding_problems("25YOM GOT AN ELECTRIC SHOCK FROM A TOASTER, NO LOC DX: ELECTRIC SHOCK", row, neiss) == []
    assert finding_problems("25YOM FELL, DIED", row, neiss)  # NEISS records death as a disposition
    sim = finding_rules(load_spec(REPO / "datasets" / "ed_trauma_sim.yaml"))
    assert finding_problems("Taken to theatre.", {"disposition": "theatre"}, sim) == []
    assert finding_problems("Taken to theatre.", {"disposition": "home"}, sim)
    assert finding_problems("Comatose, GCS 5.", {"gcs": 5}, sim) == []


def test_the_repair_cuts_the_clause_with_the_invented_finding():
    spec = load_spec(Path(REGISTRY_SPEC))
    note = "66-year-old man, low fall, taken off a ventilator, GCS 14."
    repaired = repair_narrative(
        narrative=note, row=registry_row(), lexicon=spec_lexicon(spec), statements=SupportRules.from_spec(spec)
    )
    assert "ventilator" not in repaired.text and "GCS 14" in repaired.text
    assert repaired.statements is not None and not repaired.statements.problems

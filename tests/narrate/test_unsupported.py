"""The unsupported-statement check: the issue's examples are flagged, the row's own figures are not."""

from __future__ import annotations

import pytest

from tests.conftest import DATASETS
from tests.narrate.icu_registry_row import REGISTRY_SPEC, registry_row
from traumasynth.narrate.checking.note_numbers import read_figures
from traumasynth.narrate.checking.unsupported import SupportRules, unsupported_statements
from traumasynth.spec import load_spec


@pytest.fixture(scope="module")
def rules() -> SupportRules:
    return SupportRules.from_spec(load_spec(REGISTRY_SPEC))


def _row(**changes: object) -> dict[str, object]:
    return registry_row(**{"spine_c5": "Y", **changes})


@pytest.mark.parametrize(
    ("note", "row", "said"),
    [
        ("66-year-old man, was in the ICU for 18 hours.", _row(), "icu_hours: note says 18 hours, row says 60.8"),
        ("ICU stay 13.7 hours, 13.7 hours of ventilation.", _row(icu_hours=13.7), "ventilation_hours: note says 13.7"),
        ("C2 Vertebra, C3 Vertebra, C4 Vertebra, C5 Vertebra, C7 Vertebra, N6 vertebra", _row(), "code: note says N6"),
        ("C2 Vertebra, C5 Vertebra.", _row(), "code: note says C2, row says no (spine_c2)"),
        ("treated at 2017-06-19, 2017-06-20, 2017-06-21", _row(), "date: note says 2017-06-19"),
        ("injured 2017-06-18, 2017-06-32, 2017-06-33", _row(), "date: note says 2017-06-32"),  # no such day
        ("One of 1000 patients seen this year.", _row(), "number: note says 1000"),
        ("The patient weighs 200 kg.", _row(), "200 kg"),
        ("Weight 200 kg.", _row(), "weight_kg: note says 200 kg, row says 86.6"),
        ("Arrived in the ED at 21:28.", _row(), "time: note says 21:28"),
        ("Hospital stay of eighteen days.", _row(), "hospital_days: note says 18 days, row says 9.3"),
        ("GCS 9 on arrival.", _row(), "gcs_ed: note says 9, row says 14"),
    ],
)
def test_the_issues_examples_are_unsupported(rules: SupportRules, note: str, row: dict, said: str) -> None:
    found = unsupported_statements(narrative=note, row=row, rules=rules)
    assert any(said in line for line in found), found


@pytest.mark.parametrize(
    "note",
    [
        "66-year-old man, low fall. GCS 14/15, SBP 147 mmHg, weight 86.6 kg, ISS 32.",
        "66 yo M. Weighs about 87 kg. 60.8 hours in ICU, not ventilated. Fracture of C5.",
        "ICU stay of 61 h (2.5 days), 60 hours on the unit. Hospital stay 9.3 days, discharged after 9 days.",
        "Injured on 18 June 2017, admitted 2017-06-18 at 18:28. Seen at 18/06/2017 18:28, June 18.",
        "Sixty-six-year-old man, one of the team saw him first. Discharged alive.",
        "Hospital stay 223 hours in hospital.",
    ],
)
def test_the_rows_own_figures_at_their_rounding_are_supported(rules: SupportRules, note: str) -> None:
    assert unsupported_statements(narrative=note, row=_row(), rules=rules) == ()


def test_an_integer_age_holds_its_months_and_a_missing_value_holds_nothing(rules: SupportRules) -> None:
    assert unsupported_statements(narrative="18-month-old boy", row=_row(age=1), rules=rules) == ()
    found = unsupported_statements(narrative="Ventilated for 12 hours.", row=_row(), rules=rules)
    assert found == (
        "ventilation_hours: note says 12 hours, row has no value",
        "finding: note says Ventilated (ventilation), row says ventilation_hours empty",
    )


def test_simulator_notes_with_the_rows_figures_are_supported() -> None:
    spec = load_spec(DATASETS / "ed_trauma_sim.yaml")
    rules = SupportRules.from_spec(spec)
    row = {"age": 78, "sex": "female", "triage_level": 3, "gcs": None, "sbp": 151, "heart_rate": 72,
           "resp_rate": 15, "spo2": 99, "temperature": 37.0178, "pain_score": 5, "length_of_stay_h": 8.87,
           "arrival_hour": 5}  # fmt: skip
    note = ("78-year-old woman, fall, Triage 3, SBP 151, HR 72, RR 15, SpO2 99%, temp 37.0 °C, pain 5/10. "
            "Discharged after 9 hours, arrived at 5 am.")  # fmt: skip
    assert unsupported_statements(narrative=note, row=row, rules=rules) == ()
    assert unsupported_statements(narrative="78-year-old woman, fracture of 2 fingers.", row=row, rules=rules)
    assert unsupported_statements(narrative="GCS 15, SpO2 99%", row=row, rules=rules) == (
        "gcs: note says 15, row has no value",
    )


def test_figures_are_read_with_units_dates_times_and_codes() -> None:
    figures = read_figures("13.7 hours, 1,000 units, 3rd degree, 5 pm, 03/04/2019, C5-C6, SpO2 97%")
    assert [(n.value, n.decimals, n.unit.family if n.unit else None) for n in figures.numbers] == [
        (13.7, 1, "time"), (1000.0, 0, "units"), (97.0, 0, "percent"),
    ]  # fmt: skip
    assert [(t.hour, t.minute) for t in figures.times] == [(17, 0)]
    assert figures.dates[0].readings == ((2019, 4, 3), (2019, 3, 4))
    assert figures.codes == ("C5", "C6")

"""The number guard: a note can only write the numbers its row holds, where the checker accepts them.

The guard is tested on its own with a ten-digit toy vocabulary, on the ICU-registry layout (a
spec the checker was not written on), and with the real model: every figure the guarded model
writes in a simulated note is one its row holds.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.narrate.icu_registry_row import REGISTRY_SPEC, registry_row
from traumasynth.narrate.checking.facts import written_as, written_forms
from traumasynth.narrate.checking.unsupported import SupportRules, unsupported_statements
from traumasynth.narrate.generation.backend import Request, Sampling
from traumasynth.narrate.generation.in_process import LlamaCppBackend
from traumasynth.narrate.generation.number_guard import DIGITS, DigitVocab, NumberGuard
from traumasynth.narrate.prompts.templates import Prompt
from traumasynth.spec import load_spec

#: Tokens 0-9 are the digits, 10 and 11 their byte-fallback twins of "3" and "5", 12 ".", 13 "2018", 14 " ", 15 "x".
TOY = DigitVocab({**{d: (int(d),) for d in DIGITS}, "3": (3, 10), "5": (5, 11)}, (12,), (13,))
N_TOY = 16


@pytest.fixture(scope="module")
def rules() -> SupportRules:
    return SupportRules.from_spec(load_spec(REGISTRY_SPEC))


def _free(guard: NumberGuard, text: str) -> set[int]:
    """Token ids the guard leaves sampleable after ``text``."""
    logits = np.zeros(N_TOY, dtype=np.float32)
    guard.apply(logits, text)
    return {int(i) for i in np.flatnonzero(np.isfinite(logits))}


def test_after_a_columns_name_only_its_value_may_be_written(rules: SupportRules) -> None:
    guard = NumberGuard(TOY, rules.writable_numbers(registry_row()).after)
    # "ICU for 6" may go on to 60.8 (or 60, 61), not to 18
    assert guard.next_characters("was in the ICU for ") == (frozenset("6"), False)
    assert guard.next_characters("was in the ICU for 6") == (frozenset("01"), True)
    assert guard.next_characters("was in the ICU for 60") == (frozenset("."), False)
    assert guard.next_characters("was in the ICU for 60.") == (frozenset("8"), False)
    # a decimal the row lacks is not written on as a new number ("32. 87")
    assert guard.next_characters("ICU for 60. ") == (frozenset(), False)
    # a missing value: no digit at all after its name
    assert guard.next_characters("ventilated for ") == (frozenset(), False)


def test_elsewhere_any_value_of_the_row_and_after_a_slash_its_upper_bound(rules: SupportRules) -> None:
    figures = rules.writable_numbers(registry_row())
    held = {"66", "14", "147", "86.6", "87", "32", "60.8", "61", "9.3", "9", "2017", "06", "18", "28"}
    assert held <= figures.anywhere
    assert "15" not in figures.anywhere  # GCS 14: "15" only as a denominator
    assert "15" in figures.after("GCS 14/")
    assert figures.after("seen at ") == figures.anywhere


def test_every_figure_the_guard_allows_is_one_the_checker_accepts(rules: SupportRules) -> None:
    row = registry_row()
    figures = rules.writable_numbers(row)
    for figure in sorted(figures.anywhere):
        assert unsupported_statements(narrative=f"Seen again, noted {figure} on review.", row=row, rules=rules) == ()
    for _, column_figures in figures.by_column:
        assert column_figures <= figures.anywhere
    assert figures.after("ICU stay ") == frozenset({"60.8", "61", "60"})
    for figure in figures.after("ICU stay "):
        assert unsupported_statements(narrative=f"ICU stay {figure} hours.", row=row, rules=rules) == ()


def test_the_mask_bans_every_token_of_a_digit_and_forces_a_started_number_to_end_as_the_row_has_it(
    rules: SupportRules,
) -> None:
    guard = NumberGuard(TOY, rules.writable_numbers(registry_row(gcs_ed=5)).after)
    after_gcs = _free(guard, "GCS ")
    assert {5, 11} <= after_gcs and not {3, 10} & after_gcs  # both tokens of "5" kept, both of "3" banned
    assert 13 not in after_gcs and {14, 15} <= after_gcs  # "2018" never; other tokens untouched
    started = _free(guard, "ICU for 6")  # must finish 60.8 / 61 / 60: only "0" or "1"
    assert started == {0, 1}
    assert _free(guard, "SpO") >= set(range(10))  # a digit after a letter is a code: left to the checker


def test_a_vocabulary_without_a_token_for_each_digit_cannot_be_guarded() -> None:
    assert DigitVocab.of([(0, "12"), (1, "3"), (2, "x")]) is None
    vocab = DigitVocab.of([(i, d) for i, d in enumerate(DIGITS)] + [(10, "."), (11, "20"), (12, "<0x35>"), (13, "5")])
    assert vocab is not None
    assert vocab.digits["5"] == (5, 13) and vocab.point == (10,) and vocab.mixed == (11, 12)


def test_digits_of_another_script_are_always_masked() -> None:
    """Its ASCII digits masked, Gemma 3 270M wrote "SBP ٩٥ mmHg" for a row without a pressure."""
    pieces = [(i, d) for i, d in enumerate(DIGITS)] + [(10, "٩"), (11, "٥"), (12, "９"), (13, "m²"), (14, "x")]
    vocab = DigitVocab.of(pieces)
    assert vocab is not None and vocab.mixed == (10, 11, 12)  # a superscript is a unit's, not a number's


def test_the_guarded_model_writes_only_numbers_its_row_holds(backend: LlamaCppBackend) -> None:
    """Real llama.cpp, sequential path: a row and a prompt that invite numbers the row does not hold."""
    spec = load_spec(REGISTRY_SPEC)
    rules = SupportRules.from_spec(spec)
    row = registry_row()
    prompt = Prompt(
        text="Patient record: 66-year-old man, ICU stay 60.8 hours, GCS 14, SBP 147, weight 86.6 kg.\n"
        "ICU discharge summary: The patient spent",
        note_prefix="",
    )
    sampling = Sampling(max_tokens=48, temperature=0.9, top_p=0.95, stop=("\n\n",))
    figures = rules.writable_numbers(row)
    guarded = [backend.generate([Request(prompt, seed, figures.after)], sampling=sampling)[0].text for seed in range(4)]
    for text in guarded:
        stated = re.findall(r"(?<![A-Za-z\d.])\d+(?:\.\d+)?", text)
        assert all(n in figures.denominators for n in stated), text


def test_the_guard_writes_exactly_the_figures_the_checker_reads_as_the_value() -> None:
    assert written_forms(68.5, 0) == {"69", "68"}  # half up, and cut (Python's round() gives 68 only)
    assert written_forms(60.8, 1) == {"61", "60", "60.8"}
    rng = np.random.default_rng(0)
    values = [*rng.uniform(0, 300, 300).round(2), *np.arange(0, 20, 0.25), 0.05, 2.5, 99.95]
    for value in values:
        for decimals in (0, 1, 2):
            forms = written_forms(value, decimals)
            for places in range(decimals + 1):
                step = 10.0**-places
                near = np.round(np.arange(value - 3 * step, value + 3 * step, step / 2) / step) * step
                accepted = {f"{abs(n):.{places}f}" for n in near if n >= 0 and written_as(n, places, value)}
                shown = {f for f in forms if len(f.partition(".")[2]) == places}
                assert shown == accepted, (value, decimals, places)

"""Few-shot examples made up from the spec, for a table without a prompt folder (narrate/spec_examples.py)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tests.conftest import REPO
from tests.narrate.icu_registry_row import REGISTRY_SPEC
from tests.narrate.test_narrate_spec import MINI
from traumasynth.narrate.checking.factcheck import check_narrative
from traumasynth.narrate.checking.spec_lexicon import spec_lexicon
from traumasynth.narrate.checking.unsupported import SupportRules
from traumasynth.narrate.prompts.spec_prompt import SpecPrompt
from traumasynth.narrate.prompts.spec_words import is_missing
from traumasynth.narrate.sources import narration_prompt
from traumasynth.narrate.spec_examples import spec_examples
from traumasynth.spec import NUMERIC_KINDS, DatasetSpec, load_spec

SPECS = {
    "icu_registry": lambda: load_spec(REGISTRY_SPEC),
    "mini_ed": lambda: DatasetSpec.model_validate(MINI),
    "ed_trauma_sim": lambda: load_spec(REPO / "datasets" / "ed_trauma_sim.yaml"),
    "neiss": lambda: load_spec(REPO / "datasets" / "neiss.yaml"),
}


@pytest.fixture(params=sorted(SPECS))
def spec(request: pytest.FixtureRequest) -> DatasetSpec:
    return SPECS[request.param]()


def _examples(spec: DatasetSpec, count: int = 3) -> list[dict]:
    return spec_examples(spec, count, lexicon=spec_lexicon(spec), statements=SupportRules.from_spec(spec))


def test_made_up_rows_hold_only_what_the_spec_allows_and_are_the_same_every_run(spec):
    examples = _examples(spec)
    assert examples == _examples(spec)  # a fixed draw: the prompt's bytes do not change between runs
    targets = [e["facts"][spec.target.name] for e in examples]
    assert len(set(targets)) == len(targets)  # each example another class
    for example in examples:
        row = example["facts"]
        assert set(row) == {c.name for c in spec.modelled_columns}
        for column in spec.modelled_columns:
            value = row[column.name]
            if is_missing(value):
                assert column.nullable
            elif column.kind == "categorical":
                assert value in column.categories
            elif column.kind in NUMERIC_KINDS:
                low, high = column.numeric_bounds
                assert low <= value <= high
                assert value == round(value, 0 if column.kind == "integer" else (column.decimals or 1))
            elif column.kind == "datetime":
                first, last = column.date_bounds
                assert pd.Timestamp(first) <= value <= pd.Timestamp(dt.datetime.combine(last, dt.time.max))


def test_every_example_note_passes_the_checker_it_teaches(spec):
    lexicon, rules = spec_lexicon(spec), SupportRules.from_spec(spec)
    for example in _examples(spec):
        row, note = example["facts"], example["note"]
        assert len(note.split()) >= 4, note
        assert not check_narrative(narrative=note, row=row, lexicon=lexicon).contradictions, note
        assert not rules.check(narrative=note, row=row).problems, note


def test_a_table_without_a_prompt_folder_gets_the_made_up_examples_and_the_written_opening(tmp_path):
    spec = load_spec(REGISTRY_SPEC)
    lexicon = spec_lexicon(spec)
    prompt = narration_prompt(prompts_dir=tmp_path, spec=spec, version="v1", made_up=3, lexicon=lexicon)
    assert isinstance(prompt, SpecPrompt)
    for example in _examples(spec):
        assert f"Note: {example['note']}" in prompt.completion_prefix
    row = _examples(spec, 4)[3]["facts"]
    rendered = prompt.render(row, prompt_format="completion")
    assert rendered.note_prefix and rendered.text.endswith(f"Note: {rendered.note_prefix}")  # "66-year-old man, ..."
    zero_shot = narration_prompt(prompts_dir=tmp_path, spec=spec, version="v1", made_up=0, lexicon=lexicon)
    assert zero_shot.completion_prefix.count("Note:") == 0 and zero_shot.sha256 != prompt.sha256


def test_examples_are_dropped_until_a_row_fits_the_context_window(tmp_path, caplog):
    spec = load_spec(REGISTRY_SPEC)
    lexicon = spec_lexicon(spec)
    roomy = narration_prompt(prompts_dir=tmp_path, spec=spec, version="v1", made_up=3, lexicon=lexicon,
                             token_budget=2048 - 110)  # fmt: skip
    assert roomy.completion_prefix.count("Note:") == 3
    tight = narration_prompt(prompts_dir=tmp_path, spec=spec, version="v1", made_up=3, lexicon=lexicon,
                             token_budget=1000)  # fmt: skip
    assert 0 < tight.completion_prefix.count("Note:") < 3
    none_fits = narration_prompt(prompts_dir=tmp_path, spec=spec, version="v1", made_up=3, lexicon=lexicon,
                                 token_budget=50)  # fmt: skip
    assert none_fits.completion_prefix.count("Note:") == 0
    assert "raise narrate.n_ctx" in caplog.text


def test_sibling_flags_are_no_in_every_example_and_single_flags_vary():
    """Examples that say yes to a few spine levels taught Gemma 3 270M to list levels in half of its
    notes on the ICU-registry layout; a flag without siblings may still be yes."""
    spec = load_spec(REGISTRY_SPEC)
    rows = [e["facts"] for e in _examples(spec, 10)]
    assert all(row[f"spine_c{i}"] == "N" for row in rows for i in range(1, 8))
    mini = DatasetSpec.model_validate(MINI)
    assert {row["intubated"] for row in (e["facts"] for e in _examples(mini, 30))} == {"yes", "no"}


def test_an_example_note_states_a_yes_no_column_only_when_yes():
    """Notes that all said "no intubated" taught the model to write it for intubated patients too
    (a burns-unit layout: 62 % of drafts contradicted their row); the row above the note keeps the no."""
    mini = DatasetSpec.model_validate(MINI)
    examples = _examples(mini, 30)
    noes = [e for e in examples if e["facts"]["intubated"] == "no"]
    yeses = [e for e in examples if e["facts"]["intubated"] == "yes"]
    assert noes and yeses
    assert not any("intubat" in e["note"].lower() for e in noes), [e["note"] for e in noes]
    assert all("intubat" in e["note"].lower() for e in yeses), [e["note"] for e in yeses]

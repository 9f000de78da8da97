from __future__ import annotations

import pytest

from traumasynth.core.errors import ParamsError
from traumasynth.core.params import load_section
from traumasynth.review.params import ReviewParams
from traumasynth.spec import DatasetSpec


def test_auto_includes_real_rows_only_for_public_datasets(sim_spec: DatasetSpec, public_spec: DatasetSpec) -> None:
    auto = ReviewParams()
    assert auto.real_included(public_spec) is True
    assert auto.real_included(sim_spec) is False
    assert ReviewParams(include_real=True).real_included(sim_spec) is True
    assert ReviewParams(include_real=False).real_included(public_spec) is False


def test_auto_follows_the_spec_flag_not_the_dataset_name(sim_spec: DatasetSpec) -> None:
    """A private table named `neiss` gets no real rows; a spec that says `public: true` does."""
    renamed = sim_spec.model_copy(update={"name": "neiss"})
    assert ReviewParams().real_included(renamed) is False
    assert ReviewParams().real_included(sim_spec.model_copy(update={"public": True})) is True
    assert sim_spec.model_copy(update={"public": True}).spec_hash == sim_spec.spec_hash  # models stay valid


def test_bad_values_name_the_key(tmp_path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("review:\n  n_items_per_source: 0\n  include_real: maybe\n")
    with pytest.raises(ParamsError) as err:
        load_section(path, "review", ReviewParams)
    assert "review.n_items_per_source" in str(err.value)
    assert "review.include_real" in str(err.value)


def test_repo_params_section_loads() -> None:
    params = load_section("params.yaml", "review", ReviewParams)
    assert params.include_real == "auto"

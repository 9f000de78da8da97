"""Fixtures of the narration tests: the real embedded GGUF model, a small prompt, simulated rows.

Every test runs real llama.cpp. To stay fast on 2 shared cores, runner tests use a copy of
prompt v1 with a single few-shot example (a prompt version like any other) and short notes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO
from traumasynth.narrate.checking.facts import Lexicon, load_lexicon
from traumasynth.narrate.generation.in_process import LlamaCppBackend
from traumasynth.narrate.generation.modelfile import default_model_path
from traumasynth.narrate.params import NarrateParams
from traumasynth.spec import DatasetSpec

PROMPTS = REPO / "prompts"


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    """The hand-written fact lexicon of ed_trauma_sim."""
    lex = load_lexicon(dataset="ed_trauma_sim")
    assert lex is not None
    return lex


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The embedded Gemma 3 270M Q4_K_M file."""
    return default_model_path()


@pytest.fixture(scope="session")
def backend(model_path: Path) -> LlamaCppBackend:
    """One in-process llama.cpp model shared by the tests of a session."""
    llm = LlamaCppBackend(model_path=model_path, n_ctx=1024, n_threads=1, n_gpu_layers=0, seed=1)
    yield llm
    llm.close()


@pytest.fixture(scope="session")
def small_prompts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A prompts folder whose ed_trauma_sim/v1 keeps one few-shot example of the real v1."""
    root = tmp_path_factory.mktemp("prompts")
    target = root / "ed_trauma_sim" / "v1"
    shutil.copytree(PROMPTS / "ed_trauma_sim" / "v1", target)
    examples = yaml.safe_load((target / "examples.yaml").read_text())
    (target / "examples.yaml").write_text(yaml.safe_dump(examples[:1], sort_keys=False))
    return root


@pytest.fixture()
def synthetic_rows(sim_rows: pd.DataFrame, sim_spec: DatasetSpec) -> pd.DataFrame:
    """Five rows shaped like a sample-stage output: modelled columns plus `<model>-NNNNNN` ids."""
    rows = sim_rows.head(5)[[c.name for c in sim_spec.modelled_columns]].reset_index(drop=True)
    rows.insert(0, "patient_id", [f"vae-{i:06d}" for i in range(len(rows))])
    return rows


def fast_params(**overrides: object) -> NarrateParams:
    """Narration params small enough for tests."""
    values: dict[str, object] = dict(
        n_ctx=1024, n_threads=1, n_candidates=2, max_tokens=32, n_rows=4, shard_size=2, temperature=0.7
    )
    values.update(overrides)
    return NarrateParams(**values)

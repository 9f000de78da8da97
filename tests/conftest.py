"""Shared fixtures: small, real data (simulated rows), never mocks of what is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from traumasynth.spec import DatasetSpec, load_spec

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO / "datasets"
NEISS_DIR = REPO.parent / "shared" / "data" / "neiss"

# Tests share 2 cores with each other: keep torch from oversubscribing them.
torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def noise_key_file(tmp_path_factory: pytest.TempPathFactory):
    """A fixed noise key of the tests' own, never the user's (traumasynth.privacy.keys): the same noise every run."""
    path = tmp_path_factory.mktemp("keys") / "noise.key"
    path.write_bytes(bytes(range(32)))
    mp = pytest.MonkeyPatch()
    mp.setenv("TRAUMASYNTH_NOISE_KEY_FILE", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="session", autouse=True)
def prompt_cache_dir(tmp_path_factory: pytest.TempPathFactory):
    """Saved few-shot prefix states (narrate.generation.prompt_cache) in a folder of the tests, not the user's."""
    path = tmp_path_factory.mktemp("prompt-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRAUMASYNTH_PROMPT_CACHE", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="session")
def sim_spec() -> DatasetSpec:
    """The default dataset's specification."""
    return load_spec(DATASETS / "ed_trauma_sim.yaml")


@pytest.fixture(scope="session")
def sim_rows(sim_spec: DatasetSpec):
    """600 simulated ED trauma rows in canonical form (every spec column)."""
    from traumasynth.datasets.ed_trauma_sim import simulate

    return simulate(n_rows=600, seed=7, spec=sim_spec)


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory, noise_key_file: Path) -> Path:
    """One small real `dvc repro` per session (tests/pipeline_run.py), committed; shared by the
    end-to-end tests and the documentation's commands. Change it only in a clone (`clone_run`)
    or, as the end-to-end experiments do, in tests that run after every read of its workspace."""
    from tests.pipeline_run import DVC, build_pipeline

    if not Path(DVC).is_file():
        pytest.skip("dvc is not installed beside this Python")
    return build_pipeline(tmp_path_factory.mktemp("pipeline"))


@pytest.fixture()
def neiss_dir() -> Path:
    """The shared NEISS folder; tests that need it skip when it is absent."""
    if not (NEISS_DIR / "NEISS_17-21_sample.csv").is_file():
        pytest.skip(f"shared NEISS sample not found under {NEISS_DIR}")
    return NEISS_DIR


def load_stage(name: str):
    """Import ``stages/<name>.py`` (a script, not a package module) and return its Typer app."""
    import importlib.util

    path = REPO / "stages" / f"{name}.py"
    module_spec = importlib.util.spec_from_file_location(f"stage_{name}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.app


@pytest.fixture(scope="module")
def browser():
    """Headless system Chromium through Playwright (tests/browser.py); skips when either is missing."""
    from tests.browser import launch_chromium

    yield from launch_chromium()

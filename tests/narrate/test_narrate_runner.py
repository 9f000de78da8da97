"""Sharded runs with real llama.cpp: output contract, invalidation, and resume after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import DATASETS, REPO, load_stage
from tests.narrate.conftest import fast_params
from traumasynth.narrate.checking.facts import load_lexicon
from traumasynth.narrate.generation.in_process import LlamaCppBackend
from traumasynth.narrate.prompts.templates import load_prompt
from traumasynth.narrate.runner import OUTPUT_COLUMNS, NarrationJob, candidate_seed, run_narration
from traumasynth.spec import DatasetSpec


def _job(small_prompts: Path, seed: int = 42, **overrides: object) -> NarrationJob:
    return NarrationJob(
        params=fast_params(**overrides),
        seed=seed,
        template=load_prompt(prompts_dir=small_prompts, dataset="ed_trauma_sim", version="v1"),
        lexicon=load_lexicon(dataset="ed_trauma_sim"),
        model_sha256="a" * 64,
    )


def test_run_writes_shards_and_keeps_the_best_candidate(
    backend: LlamaCppBackend, small_prompts: Path, synthetic_rows: pd.DataFrame, sim_spec: DatasetSpec, tmp_path: Path
) -> None:
    rows = synthetic_rows.head(3).drop(columns="patient_id")
    ids = synthetic_rows["patient_id"].head(3).tolist()
    out = run_narration(rows=rows, row_ids=ids, job=_job(small_prompts), backend=backend, shard_dir=tmp_path)
    assert list(out.columns) == list(OUTPUT_COLUMNS)
    assert out["row_id"].tolist() == ids
    assert sorted(p.name for p in tmp_path.glob("part-*.parquet")) == ["part-000000.parquet", "part-000001.parquet"]
    assert out["n_candidates"].between(1, 2).all()
    assert (out["narrative"].str.len() > 0).all()
    for _, r in out.iterrows():
        # the kept seed is one of the row's candidate seeds; a row stopped early only when it was clean
        assert r["seed"] in {candidate_seed(42, r["row_id"], k) for k in range(2)}
        if r["n_candidates"] == 1:
            assert len(r["contradictions"]) == 0 and len(r["omissions"]) == 0
        assert 0.0 <= r["faithfulness"] <= 1.0


def test_changed_seed_invalidates_shards(
    backend: LlamaCppBackend, small_prompts: Path, synthetic_rows: pd.DataFrame, tmp_path: Path
) -> None:
    rows = synthetic_rows.head(2).drop(columns="patient_id")
    ids = synthetic_rows["patient_id"].head(2).tolist()
    job = _job(small_prompts, n_candidates=1)
    first = run_narration(rows=rows, row_ids=ids, job=job, backend=backend, shard_dir=tmp_path)
    stamp = (tmp_path / "part-000000.parquet").stat().st_mtime_ns
    again = run_narration(rows=rows, row_ids=ids, job=job, backend=backend, shard_dir=tmp_path)
    assert (tmp_path / "part-000000.parquet").stat().st_mtime_ns == stamp  # same fingerprint: reused
    pd.testing.assert_frame_equal(first, again)
    other = run_narration(rows=rows, row_ids=ids, job=_job(small_prompts, seed=7, n_candidates=1), backend=backend,
                          shard_dir=tmp_path)  # fmt: skip
    assert (tmp_path / "part-000000.parquet").stat().st_mtime_ns != stamp
    assert other["seed"].tolist() != first["seed"].tolist()


def _write_params(path: Path, **narrate: object) -> Path:
    params = {"base": {"seed": 42, "dataset": "ed_trauma_sim", "models": ["vae"]},
              "narrate": fast_params(**narrate).model_dump(mode="json")}  # fmt: skip
    path.write_text(yaml.safe_dump(params))
    return path


def _stage_args(params: Path, synthetic: Path, tmp_path: Path, prompts: Path) -> list[str]:
    return ["--model", "vae", "--params", str(params), "--synthetic", str(synthetic),
            "--out", str(tmp_path / "narratives" / "vae.parquet"), "--metrics", str(tmp_path / "narrate_vae.json"),
            "--shards-dir", str(tmp_path / "shards"), "--prompts-dir", str(prompts),
            "--datasets-dir", str(DATASETS)]  # fmt: skip


@pytest.mark.slow
def test_run_killed_mid_way_resumes_without_loss_or_duplicates(
    small_prompts: Path, synthetic_rows: pd.DataFrame, tmp_path: Path
) -> None:
    synthetic = tmp_path / "vae.parquet"
    synthetic_rows.to_parquet(synthetic, index=False)
    params = _write_params(tmp_path / "params.yaml", n_rows=4, shard_size=1, n_candidates=1)
    args = _stage_args(params, synthetic, tmp_path, small_prompts)
    first_shard = tmp_path / "shards" / "vae" / "part-000000.parquet"
    out = tmp_path / "narratives" / "vae.parquet"
    proc = subprocess.Popen([sys.executable, str(REPO / "stages" / "narrate.py"), *args], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while not first_shard.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first_shard.exists(), "the run wrote no shard before the deadline"
        os.kill(proc.pid, signal.SIGKILL)  # as a crash or an OOM kill would
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not out.exists(), "the run finished before it could be killed"
    stamp, before = first_shard.stat().st_mtime_ns, pd.read_parquet(first_shard)

    result = CliRunner().invoke(load_stage("narrate"), args)
    assert result.exit_code == 0, result.output
    final = pd.read_parquet(out)
    assert final["row_id"].tolist() == synthetic_rows["patient_id"].head(4).tolist()  # complete, in order, no dupes
    assert first_shard.stat().st_mtime_ns == stamp  # the finished shard was not redone
    pd.testing.assert_frame_equal(final.head(1), before)
    metrics = yaml.safe_load((tmp_path / "narrate_vae.json").read_text())
    assert metrics["narratives"] == 4 and metrics["backend"] == "llama_cpp" and len(metrics["model_sha256"]) == 64

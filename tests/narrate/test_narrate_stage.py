"""CLI of stages/narrate.py on bad input: exit code 1 and a message that says what to do."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from tests.conftest import load_stage
from tests.narrate.test_narrate_runner import _stage_args, _write_params
from traumasynth.narrate.runner import OUTPUT_COLUMNS


def _invoke(tmp_path: Path, synthetic: Path, prompts: Path, **narrate: object):
    params = _write_params(tmp_path / "params.yaml", **narrate)
    return CliRunner().invoke(load_stage("narrate"), _stage_args(params, synthetic, tmp_path, prompts))


def test_empty_synthetic_file(tmp_path: Path, small_prompts: Path, synthetic_rows: pd.DataFrame) -> None:
    synthetic = tmp_path / "vae.parquet"
    synthetic_rows.head(0).to_parquet(synthetic, index=False)
    result = _invoke(tmp_path, synthetic, small_prompts)
    assert result.exit_code == 1
    assert "has no rows" in result.output and "dvc repro sample" in result.output
    assert not (tmp_path / "narratives" / "vae.parquet").exists()


def test_real_looking_file_with_narratives_is_refused(
    tmp_path: Path, small_prompts: Path, synthetic_rows: pd.DataFrame
) -> None:
    synthetic = tmp_path / "vae.parquet"
    synthetic_rows.assign(narrative="some text").to_parquet(synthetic, index=False)
    result = _invoke(tmp_path, synthetic, small_prompts)
    assert result.exit_code == 1
    assert "unexpected columns ['narrative']" in result.output and "must never enter a prompt" in result.output


def test_missing_model_file(tmp_path: Path, small_prompts: Path, synthetic_rows: pd.DataFrame) -> None:
    synthetic = tmp_path / "vae.parquet"
    synthetic_rows.to_parquet(synthetic, index=False)
    result = _invoke(tmp_path, synthetic, small_prompts, model_path=str(tmp_path / "medgemma-27b-it-Q4_K_M.gguf"))
    assert result.exit_code == 1
    assert "not found" in result.output and "MedGemma" in result.output and 'model_path: ""' in result.output


def test_unreachable_server(tmp_path: Path, small_prompts: Path, synthetic_rows: pd.DataFrame) -> None:
    synthetic = tmp_path / "vae.parquet"
    synthetic_rows.to_parquet(synthetic, index=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = _invoke(
        tmp_path, synthetic, small_prompts, backend="server", server_urls=[f"http://127.0.0.1:{port}"], retries=1
    )
    assert result.exit_code == 1
    assert "No llama.cpp server answered" in result.output and "narrate.backend: llama_cpp" in result.output


def test_server_backend_without_urls_is_a_params_error(
    tmp_path: Path, small_prompts: Path, synthetic_rows: pd.DataFrame
) -> None:
    synthetic = tmp_path / "vae.parquet"
    synthetic_rows.to_parquet(synthetic, index=False)
    params = tmp_path / "params.yaml"
    params.write_text("base: {seed: 1, dataset: ed_trauma_sim}\nnarrate: {backend: server}\n")
    result = CliRunner().invoke(load_stage("narrate"), _stage_args(params, synthetic, tmp_path, small_prompts))
    assert result.exit_code == 1 and "narrate.server_urls" in result.output


def test_zero_rows_writes_an_empty_file_without_a_model(
    tmp_path: Path, small_prompts: Path, synthetic_rows: pd.DataFrame
) -> None:
    """`narrate.n_rows: 0` (table-only sweeps): an empty narratives file, no model is opened."""
    synthetic = tmp_path / "vae.parquet"
    synthetic_rows.to_parquet(synthetic, index=False)
    # A model path that does not exist would fail the run if the stage tried to open it.
    result = _invoke(tmp_path, synthetic, small_prompts, n_rows=0, model_path=str(tmp_path / "absent.gguf"))
    assert result.exit_code == 0, result.output
    out = pd.read_parquet(tmp_path / "narratives" / "vae.parquet")
    assert out.empty and list(out.columns) == list(OUTPUT_COLUMNS)
    assert out["faithfulness"].dtype == "float64" and out["n_candidates"].dtype == "int64"
    metrics = json.loads((tmp_path / "narrate_vae.json").read_text())
    assert metrics["narratives"] == 0 and metrics["faithfulness_rate"] is None and metrics["model"] == ""


def test_zero_rows_needs_no_prompts(tmp_path: Path, synthetic_rows: pd.DataFrame) -> None:
    """A new dataset needs no prompt folder and no lexicon (docs/data.md, bring your own data): without them
    the prompt and the fact checker are made from the spec, so every note is still fact-checked."""
    synthetic = tmp_path / "vae.parquet"
    synthetic_rows.to_parquet(synthetic, index=False)
    no_prompts = tmp_path / "prompts"
    no_prompts.mkdir()
    result = _invoke(tmp_path, synthetic, no_prompts, n_rows=0)
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(tmp_path / "narratives" / "vae.parquet").empty
    no_lexicons = tmp_path / "lexicons"
    no_lexicons.mkdir()
    params = _write_params(tmp_path / "params.yaml", n_rows=2, n_candidates=1)
    args = [*_stage_args(params, synthetic, tmp_path, no_prompts), "--lexicons-dir", str(no_lexicons)]
    result = CliRunner().invoke(load_stage("narrate"), args)
    assert result.exit_code == 0, result.output
    out = pd.read_parquet(tmp_path / "narratives" / "vae.parquet")
    assert len(out) == 2 and out["faithfulness"].notna().all() and set(out["prompt_version"]) == {"spec"}
    metrics = json.loads((tmp_path / "narrate_vae.json").read_text())
    assert metrics["faithfulness_rate"] is not None and metrics["prompt_version"] == "spec"

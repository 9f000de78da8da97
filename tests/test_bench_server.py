"""`make bench-server` end to end on the CPU: build llama-server, narrate through its slots.

The first run builds llama-server from llama-cpp-python's vendored llama.cpp into
``~/.cache/traumasynth/llama.cpp-<version>-cpu`` (a few minutes on 2 cores; later runs reuse it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_server_narrates_through_llama_server_slots(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    cmd = [sys.executable, "benchmarks/bench_server.py", "--accel", "cpu", "--slots", "1", "--slots", "2",
           "--threads", "1", "--rows", "4", "--rounds", "1", "--max-tokens", "24", "--json", str(out)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=3600, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(out.read_text())
    assert json.loads(res.stdout.strip().splitlines()[-1]) == summary  # the JSON line, last
    assert "narratives/s" in res.stdout and "n/a (CPU)" in res.stdout  # the table
    assert summary["accel"] == "cpu"
    results = summary["results"]
    assert [(r["slots"], r["servers"], r["threads"]) for r in results] == [(1, 1, 1), (2, 1, 1)]
    for r in results:
        assert r["narratives_per_s"] > 0 and r["tokens_per_s"] > 0
        assert r["in_flight"] == r["slots"]  # ServerBackend(concurrency=0) reads llama-server's slots
        assert r["narratives"] == 4 and r["empty_narratives"] < 4 and r["example"].strip()
        assert r["gpu_memory_mib"] is None

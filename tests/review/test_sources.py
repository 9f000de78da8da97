from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.review.conftest import write_inputs
from traumasynth.core.errors import DataError
from traumasynth.review.sources import NARRATIVE, RECORD_ID, load_real, load_synthetic
from traumasynth.spec import DatasetSpec


def _paths(root: Path, model: str = "vae") -> dict[str, Path]:
    return {
        "synthetic_path": root / "data" / "synthetic" / f"{model}.parquet",
        "narratives_path": root / "data" / "narratives" / f"{model}.parquet",
    }


def test_synthetic_rows_join_their_narratives_and_drop_empty_ones(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    root = write_inputs(tmp_path, sim_spec, n_rows=20)
    narr_path = _paths(root)["narratives_path"]
    narr = pd.read_parquet(narr_path)
    narr.loc[[0, 1], "narrative"] = ["", None]
    narr = narr.iloc[::-1]  # order must not matter: the join is on the id
    narr.to_parquet(narr_path, index=False)
    out = load_synthetic(spec=sim_spec, model="vae", **_paths(root))
    assert len(out) == 18
    assert set(out[RECORD_ID]) == {f"vae-{i:06d}" for i in range(2, 20)}
    first = out.set_index(RECORD_ID).loc["vae-000005"]
    assert first[NARRATIVE] == narr.set_index("row_id").loc["vae-000005", "narrative"]


def test_missing_narratives_say_which_stage_to_run(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    root = write_inputs(tmp_path, sim_spec, n_rows=10)
    paths = _paths(root)
    paths["narratives_path"].unlink()
    with pytest.raises(DataError, match=r"dvc repro narrate@vae"):
        load_synthetic(spec=sim_spec, model="vae", **paths)


def test_no_shared_id_column_is_an_error(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    root = write_inputs(tmp_path, sim_spec, n_rows=10)
    paths = _paths(root)
    pd.read_parquet(paths["narratives_path"]).rename(columns={"row_id": "key"}).to_parquet(
        paths["narratives_path"], index=False
    )
    with pytest.raises(DataError, match="no 'row_id' column.*dvc repro narrate@vae"):
        load_synthetic(spec=sim_spec, model="vae", **paths)


def test_duplicate_ids_are_an_error(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    root = write_inputs(tmp_path, sim_spec, n_rows=10)
    paths = _paths(root)
    narr = pd.read_parquet(paths["narratives_path"])
    pd.concat([narr, narr.iloc[:1]]).to_parquet(paths["narratives_path"], index=False)
    with pytest.raises(DataError, match="duplicate row ids.*vae-000000"):
        load_synthetic(spec=sim_spec, model="vae", **paths)


def test_real_rows_need_a_narrative_column_in_the_spec(tmp_path: Path, sim_spec: DatasetSpec) -> None:
    root = write_inputs(tmp_path, sim_spec, n_rows=10)
    with pytest.raises(DataError, match="include_real: false"):
        load_real(spec=sim_spec, real_path=root / "data" / "prepared" / "test.parquet")


def test_real_rows_keep_their_narrative(tmp_path: Path, public_spec: DatasetSpec) -> None:
    root = write_inputs(tmp_path, public_spec, n_rows=10)
    out = load_real(spec=public_spec, real_path=root / "data" / "prepared" / "test.parquet")
    assert len(out) == 10
    assert out[NARRATIVE].str.isupper().all()
    assert list(out.columns) == [c.name for c in public_spec.modelled_columns] + [RECORD_ID, NARRATIVE]

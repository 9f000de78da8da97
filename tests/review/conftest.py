"""Small, real inputs for the review tests: simulated rows stand in for synthetic and
real tables; a copy of the default spec with a narrative column plays a public dataset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from traumasynth.datasets.ed_trauma_sim import simulate
from traumasynth.spec import DatasetSpec

MODELS = ("vae", "ddpm")


@pytest.fixture(scope="session")
def public_spec(sim_spec: DatasetSpec) -> DatasetSpec:
    """The default spec marked public (as NEISS is) with a narrative column."""
    raw = sim_spec.model_dump(mode="json")
    raw["public"] = True
    raw["columns"].append(
        {"name": "narrative", "kind": "text", "role": "narrative", "description": "Free-text narrative of the visit."}
    )
    return DatasetSpec.model_validate(raw)


def narrative_of(row: pd.Series) -> str:
    return (
        f"{row['age']}-year-old {row['sex']} seen after a {row['mechanism'].replace('_', ' ')} injury "
        f"to the {row['body_region'].replace('_', ' ')}; {row['injury_type']}, discharged to {row['disposition']}."
    )


def write_inputs(root: Path, spec: DatasetSpec, *, n_rows: int = 30, with_real_narrative: bool = True) -> Path:
    """Write datasets/, params.yaml, data/synthetic, data/narratives and data/prepared/test.parquet under root."""
    (root / "datasets").mkdir(parents=True, exist_ok=True)
    (root / "datasets" / f"{spec.name}.yaml").write_text(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    for k, model in enumerate(MODELS):
        rows = simulate(n_rows=n_rows, seed=100 + k)
        rows["patient_id"] = [f"{model}-{i:06d}" for i in range(len(rows))]
        synth = rows[[spec.id_column.name] + [c.name for c in spec.modelled_columns]]
        narr = pd.DataFrame(
            {
                "row_id": synth["patient_id"],  # what the narrate stage writes (traumasynth.spec.ids)
                "narrative": [narrative_of(r) for _, r in synth.iterrows()],
                "faithfulness": 1.0,
            }
        )
        (root / "data" / "synthetic").mkdir(parents=True, exist_ok=True)
        (root / "data" / "narratives").mkdir(parents=True, exist_ok=True)
        synth.to_parquet(root / "data" / "synthetic" / f"{model}.parquet", index=False)
        narr.to_parquet(root / "data" / "narratives" / f"{model}.parquet", index=False)
    real = simulate(n_rows=n_rows, seed=7)
    if with_real_narrative:
        real["narrative"] = [narrative_of(r).upper() for _, r in real.iterrows()]
    (root / "data" / "prepared").mkdir(parents=True, exist_ok=True)
    real.to_parquet(root / "data" / "prepared" / "test.parquet", index=False)
    params = {
        "base": {"seed": 42, "dataset": spec.name, "dataset_path": "", "models": list(MODELS)},
        "review": {"n_items_per_source": 4, "include_real": "auto", "seed": 3},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root

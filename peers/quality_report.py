"""Score a synthetic table with SDMetrics' ``QualityReport``: the external judge of the ``evaluate`` stage.

Run with the peers' environment (``.venv-peers/bin/python``), never with the project's:
sdmetrics needs ``pandas<3``, which clashes with ours. The pipeline side
(``traumasynth/evaluate/sdmetrics_quality.py``) writes the two tables and the metadata, built
from the dataset spec, into a temporary folder and calls this script:

    .venv-peers/bin/python peers/quality_report.py --real=real.parquet \
        --synthetic=synthetic.parquet --metadata=metadata.json --result=result.json

``metadata.json`` is SDMetrics' single-table metadata, ``{"columns": {name: {"sdtype": ...}}}``.
``result.json`` holds the report's overall score (``quality``), its two properties
(``column_shapes``, ``column_pair_trends``), each in 0..1, higher is better, the seconds the
report took and the library version.

This file imports only what ``peers/requirements.txt`` installs (no traumasynth), and uses
``argparse`` rather than Typer for that reason.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd
from run_peer import write_atomic  # beside this script (its folder is on sys.path when run)

logger = logging.getLogger("peers.quality_report")

#: The report's property names (SDMetrics' words) and the keys they are written under.
PROPERTIES = {"Column Shapes": "column_shapes", "Column Pair Trends": "column_pair_trends"}
TABLE_NAME = "table"


def _number(value: Any) -> float | None:
    """A score as JSON can hold it: NaN (nothing to average) becomes None."""
    value = float(value)
    return None if math.isnan(value) else value


def quality_report(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict[str, Any]) -> dict[str, Any]:
    """The overall score and the two property scores of SDMetrics' ``QualityReport`` on one table.

    ``sdmetrics.reports.QualityReport`` given one table is the single-table report
    (``sdmetrics.reports.single_table.QualityReport``, deprecated in sdmetrics 0.32) with the
    same properties and defaults. Column pair trends average only the pairs whose real columns are related
    (|correlation| > 0.5 for two numbers, association > 0.3 otherwise): ``pairs_scored`` of
    ``pairs``. With no such pair, the property (and its key) is None and ``quality`` is column shapes.
    """
    from sdmetrics.reports import QualityReport

    report = QualityReport()
    start = time.perf_counter()
    report.generate({TABLE_NAME: real}, {TABLE_NAME: synthetic}, {"tables": {TABLE_NAME: metadata}}, verbose=False)
    seconds = time.perf_counter() - start
    properties = report.get_properties().set_index("Property")["Score"]
    pairs = report.get_details("Column Pair Trends")
    meets = pairs.get("Meets Threshold?", pd.Series(dtype="boolean"))
    result: dict[str, Any] = {"quality": _number(report.get_score())}
    for name, key in PROPERTIES.items():
        result[key] = _number(properties[name])
    result.update(
        pairs=len(pairs), pairs_scored=int(meets.astype("boolean").fillna(False).sum()), seconds=seconds,
        library_version=f"sdmetrics=={version('sdmetrics')}",
    )  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=Path, required=True, help="real rows (Parquet), SDV-typed")
    parser.add_argument("--synthetic", type=Path, required=True, help="synthetic rows (Parquet), same columns")
    parser.add_argument("--metadata", type=Path, required=True, help="SDMetrics single-table metadata (JSON)")
    parser.add_argument("--result", type=Path, required=True, help="result JSON to write (scores, seconds)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    metadata = json.loads(args.metadata.read_text())
    real = pd.read_parquet(args.real)
    synthetic = pd.read_parquet(args.synthetic)
    absent = [name for name in metadata["columns"] if name not in real.columns or name not in synthetic.columns]
    if absent:
        logger.error("column(s) %s of the metadata are missing from a table", ", ".join(absent))
        return 2
    logger.info("QualityReport on %d real and %d synthetic rows x %d columns", len(real), len(synthetic),
                len(metadata["columns"]))  # fmt: skip
    result = quality_report(real, synthetic, metadata)
    write_atomic(args.result, lambda p: p.write_text(json.dumps(result, indent=2)))
    logger.info("quality %s (column shapes %s, pair trends %s on %d of %d pairs) in %.1f s", result["quality"],
                result["column_shapes"], result["column_pair_trends"], result["pairs_scored"], result["pairs"],
                result["seconds"])  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

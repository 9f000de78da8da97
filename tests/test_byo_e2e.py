"""Issue 16's acceptance: a user's own wide ED table runs through the plain documented command.

A fresh copy of this project (tests/pipeline_run.py: tracked and untracked, not ignored files,
no outputs) gets what a user brings and nothing else: a spec `datasets/wide_ed.yaml` listing the
25 columns worth keeping (24 modelled; `unlisted_columns: exclude`, a date in `%m/%d/%y`, one
column read by position from a blank header) and `data/raw/wide_ed.csv`, 1,000 made-up rows of
190 columns (tools/fake_table.py; 650 training rows after prepare's default split). No prompt
folder, no lexicon, no other parameter: exactly

    dvc exp run -S base.dataset=wide_ed -S base.dataset_path=<absolute path>

with every other setting at its default (two models, 100 narrated rows each), and the narratives
come back with their `faithfulness_rate`, from the prompt and fact checker made from the spec.
The slowest test of the suite, nearly all narration (15 minutes on one CPU thread with 200 notes a
model, before the default became 100); docs/data.md, "Bring your own ED data".
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.pipeline_run import DVC, copy_checkout, run
from traumasynth.narrate.prompts.spec_prompt import SPEC_PROMPT_VERSION

pytestmark = pytest.mark.slow

NAME = "wide_ed"
N_ROWS = 1000
N_COLUMNS = 190
BLANK_POSITION = 17  # the `source: "#17"` column below

#: What a user writes: 25 columns of the 190 (one identifier, 24 modelled), the rest dropped on reading.
SPEC = f"""\
name: {NAME}
version: 1
description: >-
  Made-up trauma attendances of an emergency department, one row per attendance, exported with
  190 columns of which 24 are modelled; labelled with the injury mechanism. No patient.
reader: table
public: false
unlisted_columns: exclude
columns:
  - name: visit_id
    kind: identifier
    role: excluded
    description: Pseudonymous visit number.
  - name: arrival
    source: Arrival date
    kind: datetime
    format: "%m/%d/%y"
    description: Date of registration at the ED.
    bounds: [2019-01-01, 2023-12-31]
    parts: [year, month, weekday]
  - name: age
    kind: integer
    description: Age in completed years.
    unit: years
    bounds: [0, 105]
  - name: sex
    kind: categorical
    description: Sex recorded at registration.
    categories: [female, male]
  - name: arrival_mode
    kind: categorical
    description: How the patient reached the ED.
    categories: [own_means, ambulance, police, other]
    labels: {{own_means: [own means, walked in], ambulance: [ambulance, paramedics]}}
  - name: triage_level
    kind: integer
    description: Triage level on a 5-level scale (1 = immediate life threat, 5 = non-urgent).
    unit: level
    bounds: [1, 5]
  - name: gcs
    kind: integer
    description: Glasgow Coma Scale at triage.
    aliases: [GCS]
    unit: points
    bounds: [3, 15]
    nullable: true
  - name: sbp
    kind: integer
    description: Systolic blood pressure at triage.
    aliases: [SBP]
    unit: mmHg
    bounds: [40, 250]
    nullable: true
  - name: dbp
    kind: integer
    description: Diastolic blood pressure at triage.
    aliases: [DBP]
    unit: mmHg
    bounds: [20, 150]
    nullable: true
  - name: heart_rate
    kind: integer
    description: Heart rate at triage.
    aliases: [HR, pulse]
    unit: beats/min
    bounds: [20, 250]
    nullable: true
  - name: resp_rate
    kind: integer
    description: Respiratory rate at triage.
    aliases: [RR]
    unit: breaths/min
    bounds: [4, 60]
    nullable: true
  - name: spo2
    kind: integer
    description: Peripheral oxygen saturation at triage.
    aliases: [SpO2]
    unit: "%"
    bounds: [50, 100]
    nullable: true
  - name: temperature
    kind: continuous
    description: Body temperature at triage.
    aliases: [temp]
    unit: °C
    bounds: [32, 42]
    nullable: true
  - name: pain_score
    kind: integer
    description: Pain on a 0-10 numeric scale at triage.
    unit: points
    bounds: [0, 10]
    nullable: true
  - name: weight
    kind: continuous
    description: Body weight.
    unit: kg
    bounds: [2, 200]
    nullable: true
  - name: residence_area
    kind: categorical
    description: Type of area of the home address.
    categories: [urban, rural]
  - name: alcohol
    source: "#{BLANK_POSITION}"
    kind: categorical
    description: Alcohol suspected by the triage nurse.
    aliases: [alcohol, ETOH]
    categories: ["yes", "no", unknown]
  - name: place
    kind: categorical
    description: Place where the injury happened.
    categories: [home, road, sports_facility, workplace, public_place, other]
  - name: injury_to_arrival_min
    kind: integer
    description: Delay between injury and ED registration.
    unit: minutes
    bounds: [0, 2880]
    transform: log1p
    nullable: true
  - name: body_region
    kind: categorical
    description: Main injured body region.
    categories: [head, face, thorax, abdomen, spine, upper_limb, lower_limb, multiple]
  - name: injury_type
    kind: categorical
    description: Nature of the main injury.
    categories: [fracture, sprain, wound, contusion, burn, other]
  - name: imaging
    kind: categorical
    description: Imaging performed in the ED.
    categories: [none, xray, ct]
    labels: {{xray: [X-ray, radiograph], ct: [CT]}}
  - name: disposition
    kind: categorical
    description: Outcome of the ED visit.
    categories: [home, ward, icu, transfer]
    labels: {{home: [discharged, sent home], icu: [ICU, intensive care]}}
  - name: length_of_stay_h
    kind: continuous
    description: Hours from registration to leaving the ED.
    unit: hours
    bounds: [0, 720]
    transform: log1p
  - name: mechanism
    kind: categorical
    role: target
    description: Injury mechanism.
    categories: [fall, road_traffic, assault, sport, work, other]
    labels: {{fall: [fall, fell], road_traffic: [road traffic, car accident], assault: [assault, punched]}}
"""


@pytest.fixture(scope="module")
def byo_run(tmp_path_factory: pytest.TempPathFactory, noise_key_file: Path) -> Path:
    """A fresh copy with the user's spec and table, after the plain `dvc exp run` of docs/data.md."""
    if not Path(DVC).is_file():
        pytest.skip("dvc is not installed beside this Python")
    root = tmp_path_factory.mktemp("byo")
    copy_checkout(root)
    (root / "datasets" / f"{NAME}.yaml").write_text(SPEC, encoding="utf-8")
    raw = root / "data" / "raw" / f"{NAME}.csv"
    extra = N_COLUMNS - SPEC.count("\n  - name: ")
    run(root, sys.executable, "tools/fake_table.py", f"datasets/{NAME}.yaml", str(raw),
        "--rows", str(N_ROWS), "--extra-columns", str(extra))  # fmt: skip
    run(root, "git", "init", "-q")
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-qm", "the project, the user's spec")
    run(root, DVC, "exp", "run", "-S", f"base.dataset={NAME}", "-S", f"base.dataset_path={raw}", timeout=5400)
    return root


def test_the_table_is_the_wide_export_of_the_issue(byo_run: Path) -> None:
    """190 columns, one blank header (the one the spec reads by position), dates as m/d/yy text, 650 to train."""
    with (byo_run / "data" / "raw" / f"{NAME}.csv").open(newline="") as fh:
        header = next(csv.reader(fh))
    assert len(header) == N_COLUMNS
    assert [i + 1 for i, h in enumerate(header) if not h.strip()] == [BLANK_POSITION]
    dates = pd.read_csv(byo_run / "data" / "raw" / f"{NAME}.csv", usecols=["Arrival date"], dtype=str)["Arrival date"]
    assert dates.str.fullmatch(r"\d\d/\d\d/\d\d").all()
    prepared = json.loads((byo_run / "metrics" / "prepare.json").read_text())
    assert sum(prepared["class_counts"]["train"].values()) == 650  # 1 - prepare.val_size - prepare.test_size


def test_narratives_come_with_their_faithfulness_from_the_spec_alone(byo_run: Path) -> None:
    params = yaml.safe_load((byo_run / "params.yaml").read_text())
    assert params["base"]["dataset"] == NAME
    assert not (byo_run / "prompts" / NAME).exists()
    assert not (byo_run / "lexicons" / f"{NAME}.yaml").exists()
    n_rows = params["narrate"]["n_rows"]
    assert n_rows > 0
    for model in params["base"]["models"]:
        narrate = json.loads((byo_run / f"metrics/narrate_{model}.json").read_text())
        assert narrate["prompt_version"] == SPEC_PROMPT_VERSION, model
        assert isinstance(narrate["faithfulness_rate"], float), (model, narrate)
        notes = pd.read_parquet(byo_run / f"data/narratives/{model}.parquet")
        assert len(notes) == n_rows, model
        assert (notes["prompt_version"] == SPEC_PROMPT_VERSION).all()
        assert notes["narrative"].notna().all() and notes["narrative"].str.strip().ne("").all(), model
        evaluate = json.loads((byo_run / f"metrics/evaluate_{model}.json").read_text())
        assert evaluate["narrative"]["faithfulness_rate"] == pytest.approx(narrate["faithfulness_rate"], abs=1e-3)
        assert evaluate["narrative"]["rows"] == n_rows
    assert "| faithful ↑ |" in (byo_run / "metrics" / "report.md").read_text()
    assert "up to date" in run(byo_run, DVC, "status").stdout

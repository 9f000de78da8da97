"""Seeded simulator of the trauma attendances of an adult and paediatric ED (``ed_trauma_sim``).

This is a **demonstration population, not patients**: every row is drawn from hand-written
probability tables (``traumasynth.datasets.ed_trauma_sim_tables``, drawn by
``traumasynth.datasets.ed_trauma_sim_draws``); no record of any real person was used to
write them. The tables encode textbook patterns of a French university-hospital emergency department so that the
pipeline has a cohort with clinically plausible, learnable structure:

- The mechanism (the target) is drawn first with fixed shares: fall 40 %, sport 15 %,
  domestic/leisure 15 %, road traffic 14 %, assault 8 %, work 6 %, self-harm 2 %.
- Age comes from a child / adult / elderly mixture per mechanism (falls in the old, sport
  in the young, work in working age); sex, home area, weekday, month and hour of arrival
  follow mechanism-specific tables (assault at night and at weekends, work on weekday
  daytime, sport on Wednesday afternoons and weekends).
- A latent severity (standard-normal scale, shifted per mechanism and for the elderly)
  drives the triage level, the arrival mode (mobile ICU when severe), GCS and vital signs
  (abnormal only when severe), imaging, disposition and length of stay.
- Place and activity depend on mechanism and age group (children at school); body region
  depends on mechanism, age and severity (hip in old fallers, face in assault, wrist and
  hand at work and in self-harm); the injury type depends on region and mechanism.
- Missingness is realistic: vital signs mostly missing at triage 4-5, temperature often
  not taken, alcohol often not assessed, pain score sometimes missing (unconscious
  patients, infants), time of injury sometimes unknown.

The same ``seed`` gives the same frame, row for row (one ``numpy.random.Generator``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from traumasynth.core.errors import ParamsError, SpecError
from traumasynth.datasets.ed_trauma_sim_draws import (
    draw_alcohol,
    draw_arrival_time,
    draw_circumstances,
    draw_demography,
    draw_disposition_and_stay,
    draw_imaging,
    draw_injury,
    draw_mechanism,
    draw_severity_and_triage,
    draw_transport,
    draw_vitals,
    draw_vitals_missing,
)
from traumasynth.datasets.ed_trauma_sim_tables import (
    ACTIVITIES,
    ALCOHOL,
    AREAS,
    DISPOSITIONS,
    IMAGING,
    INJURIES,
    MECHANISMS,
    MODES,
    PLACES,
    REGIONS,
    SEXES,
    WEEKDAYS,
)
from traumasynth.spec import DatasetSpec, load_spec
from traumasynth.spec.schema import validate

logger = logging.getLogger(__name__)

#: The specification this simulator writes, shipped with the repository.
DEFAULT_SPEC_PATH = Path(__file__).resolve().parents[2] / "datasets" / "ed_trauma_sim.yaml"


def _labels(values: tuple[str, ...], idx: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=object)[idx], dtype="str")


def _int_column(values: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    ints = np.rint(values).astype(np.int64)
    mask = np.zeros(len(ints), dtype=bool) if missing is None else missing
    return pd.Series(pd.arrays.IntegerArray(ints, mask))


def _draw_cohort(rng: np.random.Generator, n: int) -> dict[str, pd.Series]:
    """Draw every column of ``n`` attendances, block after block; the columns by name."""
    mech = draw_mechanism(rng, n=n)
    demo = draw_demography(rng, mech=mech)
    arrival = draw_arrival_time(rng, mech=mech)
    severity, triage = draw_severity_and_triage(rng, mech=mech, demo=demo)
    transport = draw_transport(rng, mech=mech, demo=demo, severity=severity)
    place, activity = draw_circumstances(rng, mech=mech, demo=demo)
    inj = draw_injury(rng, mech=mech, demo=demo, severity=severity)
    alcohol = draw_alcohol(rng, mech=mech, age=demo.age, triage=triage, night=arrival.night)
    vitals = draw_vitals(rng, demo=demo, severity=severity, long_lie=transport.long_lie, inj=inj, drunk=alcohol == 0)
    missing = draw_vitals_missing(rng, age=demo.age, triage=triage, gcs=vitals.gcs)
    imaging = draw_imaging(rng, mech=mech, elderly=demo.elderly, severity=severity, inj=inj)
    disposition, los = draw_disposition_and_stay(
        rng, mech=mech, elderly=demo.elderly, severity=severity, triage=triage, inj=inj, imaging=imaging
    )

    width = max(6, len(str(n)))
    return {
        "patient_id": pd.Series([f"sim-{i:0{width}d}" for i in range(1, n + 1)], dtype="str"),
        "age": _int_column(demo.age),
        "sex": _labels(SEXES, demo.male.astype(np.int64)),
        "residence_area": _labels(AREAS, demo.area),
        "arrival_hour": _int_column(arrival.hour),
        "weekday": _labels(WEEKDAYS, arrival.weekday),
        "month": _int_column(arrival.month),
        "arrival_mode": _labels(MODES, transport.mode),
        "place": _labels(PLACES, place),
        "activity": _labels(ACTIVITIES, activity),
        "alcohol_suspected": _labels(ALCOHOL, alcohol),
        "injury_to_arrival_min": _int_column(np.clip(transport.delay, 0, 2880), transport.delay_missing),
        "triage_level": _int_column(triage),
        "gcs": _int_column(vitals.gcs, missing.gcs),
        "sbp": _int_column(vitals.sbp, missing.sbp),
        "heart_rate": _int_column(vitals.hr, missing.vitals),
        "resp_rate": _int_column(vitals.rr, missing.vitals),
        "spo2": _int_column(vitals.spo2, missing.vitals),
        "temperature": pd.Series(np.where(missing.temperature, np.nan, vitals.temperature), dtype="float64"),
        "pain_score": _int_column(vitals.pain, missing.pain),
        "body_region": _labels(REGIONS, inj.region),
        "injury_type": _labels(INJURIES, inj.injury),
        "imaging": _labels(IMAGING, imaging),
        "disposition": _labels(DISPOSITIONS, disposition),
        "length_of_stay_h": pd.Series(los, dtype="float64"),
        "mechanism": _labels(MECHANISMS, mech),
    }


def simulate(*, n_rows: int, seed: int, spec: DatasetSpec | None = None) -> pd.DataFrame:
    """Draw a simulated ED trauma cohort in the canonical form of ``spec``.

    Args:
        n_rows: number of attendances (rows) to draw, at least 1.
        seed: seed of the ``numpy`` generator; the same seed gives the same frame.
        spec: the dataset specification to conform to; ``datasets/ed_trauma_sim.yaml``
            when omitted. It must list only columns this simulator produces.

    Returns:
        One row per attendance, columns in spec order with the spec's dtypes, validated
        against the spec's schema.

    Raises:
        ParamsError: ``n_rows`` is below 1 or ``seed`` is negative.
        SpecError: the specification asks for a column the simulator does not produce.
        SchemaError: a simulated value falls outside the specification (a spec edited
            to narrower categories or bounds).
    """
    if n_rows < 1:
        raise ParamsError(f"n_rows must be at least 1, got {n_rows}. Set `prepare.n_rows` to a positive number.")
    if seed < 0:
        raise ParamsError(f"seed must be a non-negative integer, got {seed}. Set `base.seed` to 0 or more.")
    spec = spec if spec is not None else load_spec(DEFAULT_SPEC_PATH)
    produced = _draw_cohort(np.random.default_rng(seed), n_rows)
    unknown_cols = [c for c in spec.column_names if c not in produced]
    if unknown_cols:
        raise SpecError(
            f"The ed_trauma_sim simulator cannot produce column(s) {unknown_cols} asked for by specification "
            f"'{spec.name}'. It produces: {', '.join(produced)}. Remove them from the spec or use another reader."
        )
    frame = pd.DataFrame({c: produced[c] for c in spec.column_names})
    validate(frame, spec, what="simulated ed_trauma_sim cohort")
    logger.info("Simulated %d ED trauma attendances (seed %d).", n_rows, seed)
    return frame

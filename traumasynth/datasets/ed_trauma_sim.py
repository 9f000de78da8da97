"""Seeded simulator of the trauma attendances of an adult and paediatric ED (``ed_trauma_sim``).

This is a **demonstration population, not patients**: every row is drawn from hand-written
probability tables below; no record of any real person was used to write them. The tables
encode textbook patterns of a French university-hospital emergency department so that the
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
from scipy.special import ndtr, ndtri

from traumasynth.errors import ParamsError, SpecError
from traumasynth.schema import validate
from traumasynth.spec import DatasetSpec, load_spec

logger = logging.getLogger(__name__)

#: The specification this simulator writes, shipped with the repository.
DEFAULT_SPEC_PATH = Path(__file__).resolve().parents[2] / "datasets" / "ed_trauma_sim.yaml"

MECHANISMS = ("fall", "sport", "domestic_leisure", "road_traffic", "assault", "work", "self_harm")
MECHANISM_SHARES = np.array([0.40, 0.15, 0.15, 0.14, 0.08, 0.06, 0.02])

SEXES = ("female", "male")
AREAS = ("urban", "peri_urban", "rural")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MODES = ("own_means", "ambulance", "mobile_icu", "police", "other")
PLACES = ("home", "road", "sports_facility", "workplace", "school", "public_place", "other")
ACTIVITIES = ("domestic", "leisure", "sport", "paid_work", "travel", "education", "other", "unknown")
ALCOHOL = ("yes", "no", "unknown")
REGIONS = (
    "head", "face", "neck", "thorax", "abdomen", "spine",
    "upper_limb", "wrist_hand", "lower_limb", "hip_pelvis", "multiple", "systemic",
)  # fmt: skip
INJURIES = ("fracture", "sprain", "dislocation", "wound", "contusion", "burn", "concussion", "intoxication", "other")
IMAGING = ("none", "xray", "ct", "both")
DISPOSITIONS = ("home", "ward", "icu", "theatre", "transfer", "left_without_being_seen", "death")

# Rows of every per-mechanism table follow MECHANISMS; columns follow the category tuple.
# Age mixture: (child 0-15, adult 16-64, elderly 65-105) weights, means and sds.
_AGE_W = np.array([
    [0.20, 0.28, 0.52], [0.30, 0.68, 0.02], [0.35, 0.45, 0.20], [0.10, 0.80, 0.10],
    [0.06, 0.92, 0.02], [0.00, 0.995, 0.005], [0.12, 0.84, 0.04],
])  # fmt: skip
_AGE_MEAN = np.array([
    [6, 45, 83], [12, 25, 68], [4, 38, 76], [11, 31, 74], [14, 29, 70], [15, 40, 66], [15, 29, 72],
], dtype=float)  # fmt: skip
_AGE_SD = np.array([
    [4, 14, 7], [3, 9, 3], [4, 14, 7], [4, 13, 7], [2, 10, 5], [1, 11, 2], [1.5, 12, 6],
], dtype=float)  # fmt: skip
_AGE_BOUNDS = np.array([[0, 15], [16, 64], [65, 105]], dtype=float)

# P(male) by mechanism x age group.
_P_MALE = np.array([
    [0.55, 0.50, 0.30], [0.65, 0.76, 0.70], [0.55, 0.50, 0.35], [0.60, 0.73, 0.55],
    [0.70, 0.78, 0.50], [0.80, 0.86, 0.85], [0.25, 0.33, 0.45],
])  # fmt: skip
_AREA = np.array([
    [0.50, 0.30, 0.20], [0.50, 0.32, 0.18], [0.50, 0.30, 0.20], [0.35, 0.33, 0.32],
    [0.72, 0.20, 0.08], [0.40, 0.32, 0.28], [0.60, 0.27, 0.13],
])  # fmt: skip
_WEEKDAY = np.array([
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.05, 1.05], [0.9, 0.9, 1.4, 0.9, 0.9, 1.8, 1.9],
    [1.0, 1.0, 1.05, 1.0, 1.0, 1.2, 1.25], [1.0, 1.0, 1.0, 1.0, 1.15, 1.1, 1.0],
    [0.65, 0.6, 0.7, 0.8, 1.1, 2.0, 1.8], [1.25, 1.2, 1.2, 1.2, 1.1, 0.3, 0.15],
    [1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1],
])  # fmt: skip
_MONTH = np.array([
    [1.15, 1.1, 1.0, 0.95, 0.95, 0.9, 0.9, 0.85, 0.95, 1.0, 1.05, 1.15],
    [1.0, 1.15, 1.05, 1.05, 1.1, 1.1, 0.7, 0.6, 1.1, 1.1, 1.05, 0.95],
    [0.9, 0.9, 0.95, 1.0, 1.1, 1.15, 1.15, 1.1, 1.0, 0.95, 0.9, 0.9],
    [0.9, 0.9, 0.95, 1.0, 1.05, 1.1, 1.1, 1.05, 1.05, 1.0, 1.0, 0.95],
    [0.9, 0.9, 0.95, 1.0, 1.05, 1.15, 1.2, 1.1, 1.0, 0.95, 0.9, 1.0],
    [1.05, 1.05, 1.05, 1.05, 1.0, 1.0, 0.85, 0.6, 1.05, 1.1, 1.05, 0.9],
    [1.0] * 12,
])  # fmt: skip
# Circadian profile of arrivals: (peak hour, concentration, amplitude) bumps plus a floor.
_HOUR_PEAKS: tuple[tuple[tuple[float, float, float], ...], ...] = (
    ((11, 2, 1.0), (18, 2, 0.8)),
    ((17, 4, 1.5), (11, 4, 0.4)),
    ((12, 2, 1.0), (19, 3, 1.0)),
    ((8.5, 6, 0.8), (18, 4, 1.0)),
    ((23.5, 2, 1.5), (2, 3, 0.5)),
    ((10, 4, 1.0), (15, 4, 0.9)),
    ((21, 2, 1.2),),
)
_HOUR_FLOOR = np.array([0.08, 0.02, 0.05, 0.10, 0.10, 0.01, 0.15])

# Latent severity: mean shift per mechanism.
_SEVERITY_SHIFT = np.array([0.0, -0.5, -0.45, 0.9, 0.15, 0.05, 0.75])
_TRIAGE_CUTS = np.array([2.6, 1.6, 0.5, -0.7])  # severity above cut k -> triage level k + 1

# Arrival-mode logits: intercept per mechanism, slope on severity per mode.
_MODE_LOGIT = np.array([
    [0, -0.5, -4.5, -7, -3.5], [0, -1.6, -5.5, -8, -3.5], [0, -1.3, -5.5, -8, -3.5],
    [0, 0.4, -2.2, -3.5, -3.5], [0, -0.7, -4.0, -0.8, -3.5], [0, -0.9, -4.5, -8, -3.5],
    [0, 0.5, -3.0, -1.0, -3.5],
])  # fmt: skip
_MODE_SLOPE = np.array([0.0, 1.0, 2.3, 0.2, 0.0])
_MODE_DELAY_MIN = np.array([120.0, 60.0, 50.0, 90.0, 150.0])  # median injury-to-arrival delay

# Place by mechanism, one table per age group (child, adult, elderly).
_PLACE = np.array([
    [  # child
        [0.45, 0.03, 0.05, 0.0, 0.22, 0.20, 0.05], [0.02, 0.02, 0.58, 0.0, 0.26, 0.10, 0.02],
        [0.78, 0.0, 0.01, 0.0, 0.06, 0.12, 0.03], [0.02, 0.94, 0.0, 0.0, 0.0, 0.03, 0.01],
        [0.20, 0.10, 0.02, 0.0, 0.25, 0.38, 0.05], [0.02, 0.07, 0.01, 0.86, 0.0, 0.02, 0.02],
        [0.80, 0.02, 0.0, 0.0, 0.06, 0.09, 0.03],
    ],
    [  # adult
        [0.45, 0.12, 0.02, 0.0, 0.0, 0.30, 0.11], [0.02, 0.05, 0.70, 0.0, 0.01, 0.18, 0.04],
        [0.80, 0.0, 0.01, 0.0, 0.0, 0.12, 0.07], [0.02, 0.94, 0.0, 0.0, 0.0, 0.03, 0.01],
        [0.25, 0.10, 0.01, 0.03, 0.01, 0.53, 0.07], [0.02, 0.07, 0.01, 0.86, 0.0, 0.02, 0.02],
        [0.85, 0.03, 0.0, 0.01, 0.0, 0.08, 0.03],
    ],
    [  # elderly (``other`` includes nursing homes)
        [0.70, 0.06, 0.0, 0.0, 0.0, 0.12, 0.12], [0.02, 0.05, 0.70, 0.0, 0.0, 0.19, 0.04],
        [0.85, 0.0, 0.0, 0.0, 0.0, 0.10, 0.05], [0.02, 0.94, 0.0, 0.0, 0.0, 0.03, 0.01],
        [0.45, 0.10, 0.0, 0.0, 0.0, 0.40, 0.05], [0.02, 0.07, 0.01, 0.86, 0.0, 0.02, 0.02],
        [0.85, 0.02, 0.0, 0.0, 0.0, 0.08, 0.05],
    ],
])  # fmt: skip
_ACTIVITY = np.array([
    [0.40, 0.25, 0.03, 0.04, 0.08, 0.03, 0.05, 0.12], [0.0, 0.08, 0.82, 0.01, 0.0, 0.04, 0.0, 0.05],
    [0.55, 0.30, 0.0, 0.0, 0.0, 0.01, 0.04, 0.10], [0.0, 0.10, 0.03, 0.07, 0.70, 0.0, 0.0, 0.10],
    [0.10, 0.45, 0.0, 0.04, 0.05, 0.02, 0.14, 0.20], [0.0, 0.0, 0.0, 0.92, 0.04, 0.0, 0.0, 0.04],
    [0.20, 0.05, 0.0, 0.0, 0.0, 0.0, 0.25, 0.50],
])  # fmt: skip
# Multiplicative affinity place x activity (children at school are in education, and so on).
_PLACE_ACTIVITY = np.ones((len(PLACES), len(ACTIVITIES)))
_PLACE_ACTIVITY[PLACES.index("home"), ACTIVITIES.index("domestic")] = 2.0
_PLACE_ACTIVITY[PLACES.index("home"), ACTIVITIES.index("travel")] = 0.1
_PLACE_ACTIVITY[PLACES.index("road"), ACTIVITIES.index("travel")] = 4.0
_PLACE_ACTIVITY[PLACES.index("road"), ACTIVITIES.index("domestic")] = 0.1
_PLACE_ACTIVITY[PLACES.index("sports_facility"), ACTIVITIES.index("sport")] = 5.0
_PLACE_ACTIVITY[PLACES.index("workplace"), ACTIVITIES.index("paid_work")] = 8.0
_PLACE_ACTIVITY[PLACES.index("school"), ACTIVITIES.index("education")] = 30.0
_PLACE_ACTIVITY[PLACES.index("school"), ACTIVITIES.index("domestic")] = 0.0
_PLACE_ACTIVITY[PLACES.index("public_place"), ACTIVITIES.index("domestic")] = 0.1
_PLACE_ACTIVITY[PLACES.index("public_place"), ACTIVITIES.index("leisure")] = 2.0

# Body region by mechanism; then age and severity adjustments.
_REGION = np.array([
    [0.16, 0.10, 0.01, 0.06, 0.01, 0.04, 0.15, 0.17, 0.14, 0.14, 0.02, 0.0],
    [0.07, 0.07, 0.02, 0.04, 0.01, 0.02, 0.13, 0.22, 0.40, 0.01, 0.01, 0.0],
    [0.12, 0.08, 0.01, 0.03, 0.01, 0.01, 0.12, 0.38, 0.20, 0.02, 0.01, 0.01],
    [0.14, 0.07, 0.05, 0.11, 0.05, 0.06, 0.13, 0.06, 0.17, 0.05, 0.11, 0.0],
    [0.20, 0.42, 0.03, 0.07, 0.03, 0.01, 0.06, 0.14, 0.03, 0.0, 0.01, 0.0],
    [0.06, 0.06, 0.01, 0.04, 0.01, 0.07, 0.08, 0.50, 0.15, 0.01, 0.01, 0.0],
    [0.02, 0.01, 0.06, 0.02, 0.02, 0.0, 0.07, 0.33, 0.02, 0.01, 0.03, 0.41],
])  # fmt: skip
_REGION_AGE = np.array([  # multipliers by age group (child, adult, elderly)
    [1.5, 1.2, 1.0, 0.7, 0.8, 0.5, 1.5, 1.0, 0.9, 0.2, 0.8, 1.0],
    [1.0] * 12,
    [1.1, 1.0, 0.8, 1.2, 0.8, 1.0, 1.0, 1.0, 0.7, 3.0, 1.0, 1.0],
])  # fmt: skip
_REGION_SEVERITY = np.array([0.35, 0.0, 0.1, 0.35, 0.4, 0.35, -0.1, -0.3, -0.1, 0.2, 0.9, 0.0])

# Injury type: affinity by region x type, multiplier by mechanism x type, slope on severity.
_INJURY_REGION = np.array([
    [0.08, 0.0, 0.0, 0.35, 0.25, 0.02, 0.28, 0.0, 0.02],
    [0.12, 0.0, 0.01, 0.50, 0.33, 0.03, 0.0, 0.0, 0.01],
    [0.05, 0.35, 0.0, 0.15, 0.35, 0.05, 0.0, 0.0, 0.05],
    [0.35, 0.0, 0.0, 0.08, 0.50, 0.03, 0.0, 0.0, 0.04],
    [0.0, 0.0, 0.0, 0.25, 0.60, 0.05, 0.0, 0.0, 0.10],
    [0.35, 0.30, 0.0, 0.0, 0.32, 0.0, 0.0, 0.0, 0.03],
    [0.40, 0.12, 0.12, 0.12, 0.22, 0.02, 0.0, 0.0, 0.0],
    [0.35, 0.15, 0.04, 0.30, 0.12, 0.04, 0.0, 0.0, 0.0],
    [0.28, 0.35, 0.04, 0.12, 0.20, 0.01, 0.0, 0.0, 0.0],
    [0.75, 0.0, 0.03, 0.02, 0.20, 0.0, 0.0, 0.0, 0.0],
    [0.45, 0.02, 0.02, 0.15, 0.30, 0.02, 0.02, 0.0, 0.02],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.95, 0.05],
])  # fmt: skip
_INJURY_MECHANISM = np.array([
    [1.2, 1.0, 1.0, 0.8, 1.0, 0.1, 1.2, 1.0, 0.5],
    [0.9, 2.0, 1.8, 0.6, 1.0, 0.1, 1.2, 1.0, 0.5],
    [0.7, 0.9, 0.8, 1.6, 1.0, 6.0, 0.6, 1.0, 1.5],
    [1.3, 1.2, 1.0, 1.0, 1.1, 0.2, 1.2, 1.0, 0.6],
    [0.9, 0.3, 0.6, 1.5, 1.3, 0.2, 1.3, 1.0, 0.6],
    [1.0, 0.8, 0.8, 1.8, 1.0, 3.0, 0.5, 1.0, 1.0],
    [0.3, 0.05, 0.05, 3.0, 0.3, 0.5, 0.2, 1.0, 0.8],
])  # fmt: skip
_INJURY_SEVERITY = np.array([0.3, -0.3, 0.0, 0.0, -0.1, 0.0, 0.2, 0.0, 0.0])
_PAIN_MEAN = np.array([6.5, 5.0, 7.0, 4.0, 4.0, 5.5, 3.0, 0.5, 3.0])

_P_ALCOHOL = np.array([0.08, 0.01, 0.05, 0.12, 0.45, 0.01, 0.40])  # among assessed adults, daytime
_LOS_MEDIAN_H = np.array([3.5, 96.0, 200.0, 120.0, 8.0, 1.5, 10.0])
_LOS_SIGMA = np.array([0.5, 0.7, 0.8, 0.6, 0.6, 0.5, 1.0])
_VITALS_MISSING_BY_TRIAGE = np.array([0.02, 0.04, 0.15, 0.45, 0.65])


def _draw(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category index per row of ``probs`` (``[n, K]`` non-negative weights)."""
    cum = np.cumsum(probs, axis=1)  # [n, K]
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def _softmax_draw(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return _draw(rng, weights)


def _truncated_normal(
    rng: np.random.Generator, mean: np.ndarray, sd: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """Inverse-CDF draws from normals truncated to ``[low, high]`` (vectorised, no rejection)."""
    a, b = ndtr((low - mean) / sd), ndtr((high - mean) / sd)
    u = a + rng.random(len(mean)) * (b - a)
    return mean + sd * ndtri(np.clip(u, 1e-12, 1 - 1e-12))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _hour_weights() -> np.ndarray:
    """Arrival-hour weights ``[n_mechanisms, 24]`` from the circadian bumps."""
    hours = np.arange(24)
    table = np.empty((len(MECHANISMS), 24))
    for m, peaks in enumerate(_HOUR_PEAKS):
        w = np.full(24, _HOUR_FLOOR[m])
        for centre, kappa, amplitude in peaks:
            w += amplitude * np.exp(kappa * (np.cos(2 * np.pi * (hours - centre) / 24) - 1))
        table[m] = w
    return table


def _labels(values: tuple[str, ...], idx: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=object)[idx], dtype="str")


def _int_column(values: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    ints = np.rint(values).astype(np.int64)
    mask = np.zeros(len(ints), dtype=bool) if missing is None else missing
    return pd.Series(pd.arrays.IntegerArray(ints, mask))


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
    rng = np.random.default_rng(seed)
    n = n_rows

    mech = _draw(rng, np.broadcast_to(MECHANISM_SHARES, (n, len(MECHANISMS))))

    # Demography.
    age_group = _draw(rng, _AGE_W[mech])  # 0 child, 1 adult, 2 elderly
    age = np.floor(
        _truncated_normal(
            rng,
            _AGE_MEAN[mech, age_group],
            _AGE_SD[mech, age_group],
            _AGE_BOUNDS[age_group, 0],
            _AGE_BOUNDS[age_group, 1] + 0.999,
        )
    ).astype(np.int64)
    child, elderly = age_group == 0, age_group == 2
    male = rng.random(n) < _P_MALE[mech, age_group]
    area = _draw(rng, _AREA[mech])

    # Time of arrival.
    weekday = _draw(rng, _WEEKDAY[mech])
    month = _draw(rng, _MONTH[mech]) + 1
    hour = _draw(rng, _hour_weights()[mech])
    night = (hour >= 20) | (hour <= 5)

    # Latent severity and triage.
    severity = rng.normal(_SEVERITY_SHIFT[mech], 1.0)
    severity += np.where(elderly, 0.45, 0.0) + np.where(age >= 85, 0.25, 0.0) - np.where(child, 0.25, 0.0)
    perceived = severity + rng.normal(0.0, 0.3, n)
    triage = 5 - (perceived[:, None] > _TRIAGE_CUTS[::-1][None, :]).sum(axis=1)

    # Arrival mode and delay.
    mode_logits = _MODE_LOGIT[mech] + _MODE_SLOPE[None, :] * severity[:, None]
    mode_logits[:, MODES.index("ambulance")] += np.where(elderly, 1.5, 0.0) - np.where(child, 0.8, 0.0)
    mode = _softmax_draw(rng, mode_logits)
    long_lie = elderly & (mech == MECHANISMS.index("fall")) & (rng.random(n) < 0.06)
    delay = np.exp(rng.normal(np.log(_MODE_DELAY_MIN[mode]), 0.7)) * np.where(long_lie, 8.0, 1.0)
    delay_missing = rng.random(n) < np.where(np.isin(mech, [4, 6]), 0.25, 0.08)

    # Circumstances.
    place = _draw(rng, _PLACE[age_group, mech])
    activity_w = _ACTIVITY[mech] * _PLACE_ACTIVITY[place]
    activity_w[:, ACTIVITIES.index("paid_work")] *= np.where(child, 0.0, 1.0)
    activity_w[:, ACTIVITIES.index("education")] *= np.where(child, 1.0, 0.1)
    activity = _draw(rng, activity_w + 1e-9)

    # Injury.
    region_w = _REGION[mech] * _REGION_AGE[age_group] * np.exp(_REGION_SEVERITY[None, :] * severity[:, None])
    region = _draw(rng, region_w)
    injury_w = _INJURY_REGION[region] * _INJURY_MECHANISM[mech] * np.exp(_INJURY_SEVERITY[None, :] * severity[:, None])
    # Young children break growth plates rather than sprain ligaments.
    injury_w[:, INJURIES.index("sprain")] *= np.where(age < 6, 0.1, 1.0)
    injury = _draw(rng, injury_w + 1e-12)
    is_region = {r: region == i for i, r in enumerate(REGIONS)}
    is_injury = {t: injury == i for i, t in enumerate(INJURIES)}

    # Alcohol: not assessed more often in minor cases; never "yes" under 15.
    unknown = rng.random(n) < np.clip(0.30 + 0.10 * (triage - 3), 0.1, 0.6)
    odds = _P_ALCOHOL[mech] / (1 - _P_ALCOHOL[mech]) * np.where(night, 2.5, 1.0) * np.where(age < 18, 0.3, 1.0)
    p_yes = np.where(age < 15, 0.0, odds / (1 + odds))
    alcohol = np.where(unknown, 2, np.where(rng.random(n) < p_yes, 0, 1))
    drunk = alcohol == 0

    # Vital signs and scores.
    head_like = is_region["head"] | is_region["multiple"]
    gcs_deficit = (
        3.5 * np.maximum(severity - 1.3, 0)
        + 1.5 * head_like * np.maximum(severity - 0.5, 0)
        + 0.8 * drunk
        + 2.0 * is_injury["intoxication"]
    )
    gcs = np.clip(15 - rng.poisson(gcs_deficit), 3, 15)
    shock = np.maximum(severity - 1.8, 0)
    sbp_base = np.where(age < 16, 90 + 2.0 * np.minimum(age, 15), 118 + 0.45 * np.maximum(age - 20, 0))
    sbp = np.clip(rng.normal(sbp_base - 25 * shock, 14), 40, 250)
    hr_base = np.select([age < 1, age < 6, age < 12, age < 16], [135.0, 115.0, 95.0, 85.0], 80.0)
    hr = hr_base + 15 * shock + 4 * np.maximum(severity, 0) + 8 * drunk - 5 * elderly
    hr = np.clip(rng.normal(hr, 12), 20, 250)
    rr_base = np.where(age < 16, 30 - 0.9 * np.minimum(age, 15), 16.0)
    rr = np.clip(rng.normal(rr_base + 3 * np.maximum(severity - 1, 0) + 3 * is_region["thorax"], 2.5), 4, 60)
    spo2 = (
        100.0
        - 0.04 * np.maximum(age - 60, 0)
        - 3 * np.maximum(severity - 1.5, 0)
        - 2 * is_region["thorax"] * np.maximum(severity, 0)
        - np.abs(rng.normal(0, 1.5, n))
    )
    spo2 = np.clip(spo2, 50, 100)
    temperature = 36.8 + rng.normal(0, 0.35, n) - 0.8 * np.maximum(severity - 2, 0) - 1.2 * long_lie
    temperature = np.round(np.clip(temperature, 32, 42), 1)
    pain = np.clip(rng.normal(_PAIN_MEAN[injury] + 0.5 * severity, 1.8), 0, 10)

    p_vitals_missing = _VITALS_MISSING_BY_TRIAGE[triage - 1]
    vitals_missing = rng.random(n) < p_vitals_missing
    sbp_missing = vitals_missing | (rng.random(n) < np.where(age < 6, 0.6, 0.02))
    gcs_missing = rng.random(n) < p_vitals_missing * 0.9
    temp_missing = rng.random(n) < np.clip(0.45 + 0.12 * (triage - 3), 0.05, 0.85)
    pain_missing = rng.random(n) < np.where((gcs < 13) | (age < 4), 0.6, 0.12)

    # Imaging.
    limb = is_region["upper_limb"] | is_region["wrist_hand"] | is_region["lower_limb"] | is_region["hip_pelvis"]
    ct_logit = (
        -3.2
        + 1.3 * severity
        + 1.6 * (is_region["head"] | is_region["spine"])
        + 2.0 * is_region["multiple"]
        + 1.5 * is_region["abdomen"]
        + 0.8 * is_region["thorax"]
        + 0.8 * (elderly & is_region["head"])
        + 0.7 * (mech == MECHANISMS.index("road_traffic"))
    )
    xray_logit = (
        -1.5
        + 2.6 * is_injury["fracture"]
        + 1.3 * is_injury["sprain"]
        + 3.0 * is_injury["dislocation"]
        + 0.9 * (limb | is_region["thorax"])
        - 1.5 * (is_injury["wound"] | is_injury["burn"] | is_injury["intoxication"] | is_injury["concussion"])
    )
    ct = rng.random(n) < _sigmoid(ct_logit)
    xray = rng.random(n) < _sigmoid(xray_logit)
    imaging = np.where(ct & xray, 3, np.where(ct, 2, np.where(xray, 1, 0)))

    # Disposition and length of stay.
    hip_fracture = is_region["hip_pelvis"] & is_injury["fracture"]
    self_harm = mech == MECHANISMS.index("self_harm")
    disp_logits = np.zeros((n, len(DISPOSITIONS)))
    disp_logits[:, 1] = -2.4 + 1.1 * severity + 1.0 * elderly + 2.5 * hip_fracture + 2.0 * self_harm
    disp_logits[:, 1] += 1.0 * is_injury["intoxication"]
    disp_logits[:, 2] = -7.0 + 2.2 * severity
    disp_logits[:, 3] = -3.6 + 0.9 * severity + 1.5 * is_injury["fracture"] + 2.0 * hip_fracture
    disp_logits[:, 3] += 0.5 * is_injury["dislocation"] - 3.0 * self_harm * is_injury["intoxication"]
    disp_logits[:, 4] = -4.0 + 0.5 * severity + 4.0 * self_harm
    disp_logits[:, 5] = -4.0 - 1.0 * severity + 0.5 * (triage == 5) + 0.5 * self_harm
    disp_logits[:, 6] = -12.0 + 3.0 * severity
    disposition = _softmax_draw(rng, disp_logits)
    los_median = _LOS_MEDIAN_H[disposition] * np.where(elderly & np.isin(disposition, [1, 3]), 1.5, 1.0)
    los_median *= np.where((disposition == 0) & (imaging >= 2), 1.4, 1.0)
    los_median *= np.where(np.isin(disposition, [1, 2, 3]), np.exp(0.2 * severity), 1.0)
    los = np.round(np.clip(np.exp(rng.normal(np.log(los_median), _LOS_SIGMA[disposition])), 0.1, 720), 2)

    width = max(6, len(str(n)))
    produced = {
        "patient_id": pd.Series([f"sim-{i:0{width}d}" for i in range(1, n + 1)], dtype="str"),
        "age": _int_column(age),
        "sex": _labels(SEXES, male.astype(np.int64)),
        "residence_area": _labels(AREAS, area),
        "arrival_hour": _int_column(hour),
        "weekday": _labels(WEEKDAYS, weekday),
        "month": _int_column(month),
        "arrival_mode": _labels(MODES, mode),
        "place": _labels(PLACES, place),
        "activity": _labels(ACTIVITIES, activity),
        "alcohol_suspected": _labels(ALCOHOL, alcohol),
        "injury_to_arrival_min": _int_column(np.clip(delay, 0, 2880), delay_missing),
        "triage_level": _int_column(triage),
        "gcs": _int_column(gcs, gcs_missing),
        "sbp": _int_column(sbp, sbp_missing),
        "heart_rate": _int_column(hr, vitals_missing),
        "resp_rate": _int_column(rr, vitals_missing),
        "spo2": _int_column(spo2, vitals_missing),
        "temperature": pd.Series(np.where(temp_missing, np.nan, temperature), dtype="float64"),
        "pain_score": _int_column(pain, pain_missing),
        "body_region": _labels(REGIONS, region),
        "injury_type": _labels(INJURIES, injury),
        "imaging": _labels(IMAGING, imaging),
        "disposition": _labels(DISPOSITIONS, disposition),
        "length_of_stay_h": pd.Series(los, dtype="float64"),
        "mechanism": _labels(MECHANISMS, mech),
    }
    unknown_cols = [c for c in spec.column_names if c not in produced]
    if unknown_cols:
        raise SpecError(
            f"The ed_trauma_sim simulator cannot produce column(s) {unknown_cols} asked for by specification "
            f"'{spec.name}'. It produces: {', '.join(produced)}. Remove them from the spec or use another reader."
        )
    frame = pd.DataFrame({c: produced[c] for c in spec.column_names})
    validate(frame, spec, what="simulated ed_trauma_sim cohort")
    logger.info("Simulated %d ED trauma attendances (seed %d).", n, seed)
    return frame

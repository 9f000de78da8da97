"""The draws of the ED trauma simulator, one function per block of variables.

``traumasynth.datasets.ed_trauma_sim.simulate`` calls them in a fixed order on one
``numpy.random.Generator`` (the order of the draws is the cohort: changing it changes
every row of a seed). Each reads the probability tables of
``traumasynth.datasets.ed_trauma_sim_tables`` and returns category indices or values.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import ndtr, ndtri

from traumasynth.datasets.ed_trauma_sim_tables import (
    ACTIVITIES,
    ACTIVITY,
    AGE_BOUNDS,
    AGE_MEAN,
    AGE_SD,
    AGE_W,
    AREA,
    DISPOSITIONS,
    HOUR_FLOOR,
    HOUR_PEAKS,
    INJURIES,
    INJURY_MECHANISM,
    INJURY_REGION,
    INJURY_SEVERITY,
    LOS_MEDIAN_H,
    LOS_SIGMA,
    MECHANISM_SHARES,
    MECHANISMS,
    MODE_DELAY_MIN,
    MODE_LOGIT,
    MODE_SLOPE,
    MODES,
    MONTH,
    P_ALCOHOL,
    P_MALE,
    PAIN_MEAN,
    PLACE,
    PLACE_ACTIVITY,
    REGION,
    REGION_AGE,
    REGION_SEVERITY,
    REGIONS,
    SEVERITY_SHIFT,
    TRIAGE_CUTS,
    VITALS_MISSING_BY_TRIAGE,
    WEEKDAY,
)


def _draw(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category index per row of ``probs`` (``[n, K]`` non-negative weights)."""
    cum = np.cumsum(probs, axis=1)  # [n, K]
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def _softmax_draw(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """One category index per row of ``logits`` (``[n, K]``), drawn from their softmax."""
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
    for m, peaks in enumerate(HOUR_PEAKS):
        w = np.full(24, HOUR_FLOOR[m])
        for centre, kappa, amplitude in peaks:
            w += amplitude * np.exp(kappa * (np.cos(2 * np.pi * (hours - centre) / 24) - 1))
        table[m] = w
    return table


def draw_mechanism(rng: np.random.Generator, *, n: int) -> np.ndarray:
    """The mechanism (the target) of ``n`` attendances, with the fixed shares."""
    return _draw(rng, np.broadcast_to(MECHANISM_SHARES, (n, len(MECHANISMS))))


class Demography(NamedTuple):
    """Age group, age (years), sex and home area of each attendance."""

    age_group: np.ndarray  # 0 child, 1 adult, 2 elderly
    age: np.ndarray
    child: np.ndarray
    elderly: np.ndarray
    male: np.ndarray
    area: np.ndarray


def draw_demography(rng: np.random.Generator, *, mech: np.ndarray) -> Demography:
    """Age group, age, sex and home area."""
    n = len(mech)
    age_group = _draw(rng, AGE_W[mech])  # 0 child, 1 adult, 2 elderly
    age = np.floor(
        _truncated_normal(
            rng,
            AGE_MEAN[mech, age_group],
            AGE_SD[mech, age_group],
            AGE_BOUNDS[age_group, 0],
            AGE_BOUNDS[age_group, 1] + 0.999,
        )
    ).astype(np.int64)
    child, elderly = age_group == 0, age_group == 2
    male = rng.random(n) < P_MALE[mech, age_group]
    area = _draw(rng, AREA[mech])
    return Demography(age_group, age, child, elderly, male, area)


class ArrivalTime(NamedTuple):
    """Weekday, month, hour of arrival and whether it is at night (20:00-05:59)."""

    weekday: np.ndarray
    month: np.ndarray
    hour: np.ndarray
    night: np.ndarray


def draw_arrival_time(rng: np.random.Generator, *, mech: np.ndarray) -> ArrivalTime:
    """Weekday, month (1-12) and hour of arrival."""
    weekday = _draw(rng, WEEKDAY[mech])
    month = _draw(rng, MONTH[mech]) + 1
    hour = _draw(rng, _hour_weights()[mech])
    night = (hour >= 20) | (hour <= 5)
    return ArrivalTime(weekday, month, hour, night)


def draw_severity_and_triage(
    rng: np.random.Generator, *, mech: np.ndarray, demo: Demography
) -> tuple[np.ndarray, np.ndarray]:
    """The latent severity (standard-normal scale) and the triage level 1-5 it drives."""
    n = len(mech)
    child, elderly = demo.child, demo.elderly
    severity = rng.normal(SEVERITY_SHIFT[mech], 1.0)
    severity += np.where(elderly, 0.45, 0.0) + np.where(demo.age >= 85, 0.25, 0.0) - np.where(child, 0.25, 0.0)
    perceived = severity + rng.normal(0.0, 0.3, n)
    triage = 5 - (perceived[:, None] > TRIAGE_CUTS[::-1][None, :]).sum(axis=1)
    return severity, triage


class Transport(NamedTuple):
    """Arrival mode, long lie, injury-to-arrival delay (minutes) and whether it is unknown."""

    mode: np.ndarray
    long_lie: np.ndarray
    delay: np.ndarray
    delay_missing: np.ndarray


def draw_transport(rng: np.random.Generator, *, mech: np.ndarray, demo: Demography, severity: np.ndarray) -> Transport:
    """Arrival mode and injury-to-arrival delay (long lies of old fallers; sometimes unknown)."""
    n = len(mech)
    child, elderly = demo.child, demo.elderly
    mode_logits = MODE_LOGIT[mech] + MODE_SLOPE[None, :] * severity[:, None]
    mode_logits[:, MODES.index("ambulance")] += np.where(elderly, 1.5, 0.0) - np.where(child, 0.8, 0.0)
    mode = _softmax_draw(rng, mode_logits)
    long_lie = elderly & (mech == MECHANISMS.index("fall")) & (rng.random(n) < 0.06)
    delay = np.exp(rng.normal(np.log(MODE_DELAY_MIN[mode]), 0.7)) * np.where(long_lie, 8.0, 1.0)
    delay_missing = rng.random(n) < np.where(np.isin(mech, [4, 6]), 0.25, 0.08)
    return Transport(mode, long_lie, delay, delay_missing)


def draw_circumstances(
    rng: np.random.Generator, *, mech: np.ndarray, demo: Demography
) -> tuple[np.ndarray, np.ndarray]:
    """Place and activity (children at school are in education, never in paid work)."""
    child = demo.child
    place = _draw(rng, PLACE[demo.age_group, mech])
    activity_w = ACTIVITY[mech] * PLACE_ACTIVITY[place]
    activity_w[:, ACTIVITIES.index("paid_work")] *= np.where(child, 0.0, 1.0)
    activity_w[:, ACTIVITIES.index("education")] *= np.where(child, 1.0, 0.1)
    activity = _draw(rng, activity_w + 1e-9)
    return place, activity


class Injury(NamedTuple):
    """Body region and injury type, as indices and as one boolean mask per category."""

    region: np.ndarray
    injury: np.ndarray
    is_region: dict[str, np.ndarray]  # a boolean mask per body region
    is_injury: dict[str, np.ndarray]  # a boolean mask per injury type


def draw_injury(rng: np.random.Generator, *, mech: np.ndarray, demo: Demography, severity: np.ndarray) -> Injury:
    """Body region (by mechanism, age and severity), then injury type (by region, mechanism, severity)."""
    age, age_group = demo.age, demo.age_group
    region_w = REGION[mech] * REGION_AGE[age_group] * np.exp(REGION_SEVERITY[None, :] * severity[:, None])
    region = _draw(rng, region_w)
    injury_w = INJURY_REGION[region] * INJURY_MECHANISM[mech] * np.exp(INJURY_SEVERITY[None, :] * severity[:, None])
    # Young children break growth plates rather than sprain ligaments.
    injury_w[:, INJURIES.index("sprain")] *= np.where(age < 6, 0.1, 1.0)
    injury = _draw(rng, injury_w + 1e-12)
    is_region = {r: region == i for i, r in enumerate(REGIONS)}
    is_injury = {t: injury == i for i, t in enumerate(INJURIES)}
    return Injury(region, injury, is_region, is_injury)


def draw_alcohol(
    rng: np.random.Generator, *, mech: np.ndarray, age: np.ndarray, triage: np.ndarray, night: np.ndarray
) -> np.ndarray:
    """Alcohol suspected: not assessed more often in minor cases; never "yes" under 15."""
    n = len(mech)
    unknown = rng.random(n) < np.clip(0.30 + 0.10 * (triage - 3), 0.1, 0.6)
    odds = P_ALCOHOL[mech] / (1 - P_ALCOHOL[mech]) * np.where(night, 2.5, 1.0) * np.where(age < 18, 0.3, 1.0)
    p_yes = np.where(age < 15, 0.0, odds / (1 + odds))
    return np.where(unknown, 2, np.where(rng.random(n) < p_yes, 0, 1))


class Vitals(NamedTuple):
    """Vital signs and scores, before missingness."""

    gcs: np.ndarray
    sbp: np.ndarray
    hr: np.ndarray
    rr: np.ndarray
    spo2: np.ndarray
    temperature: np.ndarray
    pain: np.ndarray


def draw_vitals(
    rng: np.random.Generator,
    *,
    demo: Demography,
    severity: np.ndarray,
    long_lie: np.ndarray,
    inj: Injury,
    drunk: np.ndarray,
) -> Vitals:
    """Vital signs and scores (abnormal only when severe)."""
    n, age, elderly, is_region = len(severity), demo.age, demo.elderly, inj.is_region
    head_like = is_region["head"] | is_region["multiple"]
    gcs_deficit = (
        3.5 * np.maximum(severity - 1.3, 0)
        + 1.5 * head_like * np.maximum(severity - 0.5, 0)
        + 0.8 * drunk
        + 2.0 * inj.is_injury["intoxication"]
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
    pain = np.clip(rng.normal(PAIN_MEAN[inj.injury] + 0.5 * severity, 1.8), 0, 10)
    return Vitals(gcs, sbp, hr, rr, spo2, temperature, pain)


class VitalsMissing(NamedTuple):
    """Missingness masks of the vital signs and scores."""

    vitals: np.ndarray  # heart rate, respiratory rate, SpO2
    sbp: np.ndarray
    gcs: np.ndarray
    temperature: np.ndarray
    pain: np.ndarray


def draw_vitals_missing(
    rng: np.random.Generator, *, age: np.ndarray, triage: np.ndarray, gcs: np.ndarray
) -> VitalsMissing:
    """Which vital signs and scores were not taken (mostly at triage 4-5)."""
    n = len(age)
    p_vitals_missing = VITALS_MISSING_BY_TRIAGE[triage - 1]
    vitals_missing = rng.random(n) < p_vitals_missing
    sbp_missing = vitals_missing | (rng.random(n) < np.where(age < 6, 0.6, 0.02))
    gcs_missing = rng.random(n) < p_vitals_missing * 0.9
    temp_missing = rng.random(n) < np.clip(0.45 + 0.12 * (triage - 3), 0.05, 0.85)
    pain_missing = rng.random(n) < np.where((gcs < 13) | (age < 4), 0.6, 0.12)
    return VitalsMissing(vitals_missing, sbp_missing, gcs_missing, temp_missing, pain_missing)


def draw_imaging(
    rng: np.random.Generator, *, mech: np.ndarray, elderly: np.ndarray, severity: np.ndarray, inj: Injury
) -> np.ndarray:
    """Imaging: CT and X-ray drawn independently, each from a logistic model."""
    n, is_region, is_injury = len(mech), inj.is_region, inj.is_injury
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
    return np.where(ct & xray, 3, np.where(ct, 2, np.where(xray, 1, 0)))


def draw_disposition_and_stay(
    rng: np.random.Generator,
    *,
    mech: np.ndarray,
    elderly: np.ndarray,
    severity: np.ndarray,
    triage: np.ndarray,
    inj: Injury,
    imaging: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Disposition, then the length of stay in hours it drives."""
    n, is_injury = len(mech), inj.is_injury
    hip_fracture = inj.is_region["hip_pelvis"] & is_injury["fracture"]
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
    los_median = LOS_MEDIAN_H[disposition] * np.where(elderly & np.isin(disposition, [1, 3]), 1.5, 1.0)
    los_median *= np.where((disposition == 0) & (imaging >= 2), 1.4, 1.0)
    los_median *= np.where(np.isin(disposition, [1, 2, 3]), np.exp(0.2 * severity), 1.0)
    los = np.round(np.clip(np.exp(rng.normal(np.log(los_median), LOS_SIGMA[disposition])), 0.1, 720), 2)
    return disposition, los

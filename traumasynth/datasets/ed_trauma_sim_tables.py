"""Hand-written probability tables of the ED trauma simulator (``traumasynth.datasets.ed_trauma_sim``).

Demonstration data, not patients: no record of any real person was used to write them.
Rows of every per-mechanism table follow ``MECHANISMS``; columns follow the category
tuple the table draws (``SEXES``, ``AREAS``, ``MODES``...).
"""

from __future__ import annotations

import numpy as np

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

# Age mixture: (child 0-15, adult 16-64, elderly 65-105) weights, means and sds.
AGE_W = np.array([
    [0.20, 0.28, 0.52], [0.30, 0.68, 0.02], [0.35, 0.45, 0.20], [0.10, 0.80, 0.10],
    [0.06, 0.92, 0.02], [0.00, 0.995, 0.005], [0.12, 0.84, 0.04],
])  # fmt: skip
AGE_MEAN = np.array([
    [6, 45, 83], [12, 25, 68], [4, 38, 76], [11, 31, 74], [14, 29, 70], [15, 40, 66], [15, 29, 72],
], dtype=float)  # fmt: skip
AGE_SD = np.array([
    [4, 14, 7], [3, 9, 3], [4, 14, 7], [4, 13, 7], [2, 10, 5], [1, 11, 2], [1.5, 12, 6],
], dtype=float)  # fmt: skip
AGE_BOUNDS = np.array([[0, 15], [16, 64], [65, 105]], dtype=float)

# P(male) by mechanism x age group.
P_MALE = np.array([
    [0.55, 0.50, 0.30], [0.65, 0.76, 0.70], [0.55, 0.50, 0.35], [0.60, 0.73, 0.55],
    [0.70, 0.78, 0.50], [0.80, 0.86, 0.85], [0.25, 0.33, 0.45],
])  # fmt: skip
AREA = np.array([
    [0.50, 0.30, 0.20], [0.50, 0.32, 0.18], [0.50, 0.30, 0.20], [0.35, 0.33, 0.32],
    [0.72, 0.20, 0.08], [0.40, 0.32, 0.28], [0.60, 0.27, 0.13],
])  # fmt: skip
WEEKDAY = np.array([
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.05, 1.05], [0.9, 0.9, 1.4, 0.9, 0.9, 1.8, 1.9],
    [1.0, 1.0, 1.05, 1.0, 1.0, 1.2, 1.25], [1.0, 1.0, 1.0, 1.0, 1.15, 1.1, 1.0],
    [0.65, 0.6, 0.7, 0.8, 1.1, 2.0, 1.8], [1.25, 1.2, 1.2, 1.2, 1.1, 0.3, 0.15],
    [1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1],
])  # fmt: skip
MONTH = np.array([
    [1.15, 1.1, 1.0, 0.95, 0.95, 0.9, 0.9, 0.85, 0.95, 1.0, 1.05, 1.15],
    [1.0, 1.15, 1.05, 1.05, 1.1, 1.1, 0.7, 0.6, 1.1, 1.1, 1.05, 0.95],
    [0.9, 0.9, 0.95, 1.0, 1.1, 1.15, 1.15, 1.1, 1.0, 0.95, 0.9, 0.9],
    [0.9, 0.9, 0.95, 1.0, 1.05, 1.1, 1.1, 1.05, 1.05, 1.0, 1.0, 0.95],
    [0.9, 0.9, 0.95, 1.0, 1.05, 1.15, 1.2, 1.1, 1.0, 0.95, 0.9, 1.0],
    [1.05, 1.05, 1.05, 1.05, 1.0, 1.0, 0.85, 0.6, 1.05, 1.1, 1.05, 0.9],
    [1.0] * 12,
])  # fmt: skip
# Circadian profile of arrivals: (peak hour, concentration, amplitude) bumps plus a floor.
HOUR_PEAKS: tuple[tuple[tuple[float, float, float], ...], ...] = (
    ((11, 2, 1.0), (18, 2, 0.8)),
    ((17, 4, 1.5), (11, 4, 0.4)),
    ((12, 2, 1.0), (19, 3, 1.0)),
    ((8.5, 6, 0.8), (18, 4, 1.0)),
    ((23.5, 2, 1.5), (2, 3, 0.5)),
    ((10, 4, 1.0), (15, 4, 0.9)),
    ((21, 2, 1.2),),
)
HOUR_FLOOR = np.array([0.08, 0.02, 0.05, 0.10, 0.10, 0.01, 0.15])

# Latent severity: mean shift per mechanism.
SEVERITY_SHIFT = np.array([0.0, -0.5, -0.45, 0.9, 0.15, 0.05, 0.75])
TRIAGE_CUTS = np.array([2.6, 1.6, 0.5, -0.7])  # severity above cut k -> triage level k + 1

# Arrival-mode logits: intercept per mechanism, slope on severity per mode.
MODE_LOGIT = np.array([
    [0, -0.5, -4.5, -7, -3.5], [0, -1.6, -5.5, -8, -3.5], [0, -1.3, -5.5, -8, -3.5],
    [0, 0.4, -2.2, -3.5, -3.5], [0, -0.7, -4.0, -0.8, -3.5], [0, -0.9, -4.5, -8, -3.5],
    [0, 0.5, -3.0, -1.0, -3.5],
])  # fmt: skip
MODE_SLOPE = np.array([0.0, 1.0, 2.3, 0.2, 0.0])
MODE_DELAY_MIN = np.array([120.0, 60.0, 50.0, 90.0, 150.0])  # median injury-to-arrival delay

# Place by mechanism, one table per age group (child, adult, elderly).
PLACE = np.array([
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
ACTIVITY = np.array([
    [0.40, 0.25, 0.03, 0.04, 0.08, 0.03, 0.05, 0.12], [0.0, 0.08, 0.82, 0.01, 0.0, 0.04, 0.0, 0.05],
    [0.55, 0.30, 0.0, 0.0, 0.0, 0.01, 0.04, 0.10], [0.0, 0.10, 0.03, 0.07, 0.70, 0.0, 0.0, 0.10],
    [0.10, 0.45, 0.0, 0.04, 0.05, 0.02, 0.14, 0.20], [0.0, 0.0, 0.0, 0.92, 0.04, 0.0, 0.0, 0.04],
    [0.20, 0.05, 0.0, 0.0, 0.0, 0.0, 0.25, 0.50],
])  # fmt: skip
# Multiplicative affinity place x activity (children at school are in education, and so on).
PLACE_ACTIVITY = np.ones((len(PLACES), len(ACTIVITIES)))
PLACE_ACTIVITY[PLACES.index("home"), ACTIVITIES.index("domestic")] = 2.0
PLACE_ACTIVITY[PLACES.index("home"), ACTIVITIES.index("travel")] = 0.1
PLACE_ACTIVITY[PLACES.index("road"), ACTIVITIES.index("travel")] = 4.0
PLACE_ACTIVITY[PLACES.index("road"), ACTIVITIES.index("domestic")] = 0.1
PLACE_ACTIVITY[PLACES.index("sports_facility"), ACTIVITIES.index("sport")] = 5.0
PLACE_ACTIVITY[PLACES.index("workplace"), ACTIVITIES.index("paid_work")] = 8.0
PLACE_ACTIVITY[PLACES.index("school"), ACTIVITIES.index("education")] = 30.0
PLACE_ACTIVITY[PLACES.index("school"), ACTIVITIES.index("domestic")] = 0.0
PLACE_ACTIVITY[PLACES.index("public_place"), ACTIVITIES.index("domestic")] = 0.1
PLACE_ACTIVITY[PLACES.index("public_place"), ACTIVITIES.index("leisure")] = 2.0

# Body region by mechanism; then age and severity adjustments.
REGION = np.array([
    [0.16, 0.10, 0.01, 0.06, 0.01, 0.04, 0.15, 0.17, 0.14, 0.14, 0.02, 0.0],
    [0.07, 0.07, 0.02, 0.04, 0.01, 0.02, 0.13, 0.22, 0.40, 0.01, 0.01, 0.0],
    [0.12, 0.08, 0.01, 0.03, 0.01, 0.01, 0.12, 0.38, 0.20, 0.02, 0.01, 0.01],
    [0.14, 0.07, 0.05, 0.11, 0.05, 0.06, 0.13, 0.06, 0.17, 0.05, 0.11, 0.0],
    [0.20, 0.42, 0.03, 0.07, 0.03, 0.01, 0.06, 0.14, 0.03, 0.0, 0.01, 0.0],
    [0.06, 0.06, 0.01, 0.04, 0.01, 0.07, 0.08, 0.50, 0.15, 0.01, 0.01, 0.0],
    [0.02, 0.01, 0.06, 0.02, 0.02, 0.0, 0.07, 0.33, 0.02, 0.01, 0.03, 0.41],
])  # fmt: skip
REGION_AGE = np.array([  # multipliers by age group (child, adult, elderly)
    [1.5, 1.2, 1.0, 0.7, 0.8, 0.5, 1.5, 1.0, 0.9, 0.2, 0.8, 1.0],
    [1.0] * 12,
    [1.1, 1.0, 0.8, 1.2, 0.8, 1.0, 1.0, 1.0, 0.7, 3.0, 1.0, 1.0],
])  # fmt: skip
REGION_SEVERITY = np.array([0.35, 0.0, 0.1, 0.35, 0.4, 0.35, -0.1, -0.3, -0.1, 0.2, 0.9, 0.0])

# Injury type: affinity by region x type, multiplier by mechanism x type, slope on severity.
INJURY_REGION = np.array([
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
INJURY_MECHANISM = np.array([
    [1.2, 1.0, 1.0, 0.8, 1.0, 0.1, 1.2, 1.0, 0.5],
    [0.9, 2.0, 1.8, 0.6, 1.0, 0.1, 1.2, 1.0, 0.5],
    [0.7, 0.9, 0.8, 1.6, 1.0, 6.0, 0.6, 1.0, 1.5],
    [1.3, 1.2, 1.0, 1.0, 1.1, 0.2, 1.2, 1.0, 0.6],
    [0.9, 0.3, 0.6, 1.5, 1.3, 0.2, 1.3, 1.0, 0.6],
    [1.0, 0.8, 0.8, 1.8, 1.0, 3.0, 0.5, 1.0, 1.0],
    [0.3, 0.05, 0.05, 3.0, 0.3, 0.5, 0.2, 1.0, 0.8],
])  # fmt: skip
INJURY_SEVERITY = np.array([0.3, -0.3, 0.0, 0.0, -0.1, 0.0, 0.2, 0.0, 0.0])
PAIN_MEAN = np.array([6.5, 5.0, 7.0, 4.0, 4.0, 5.5, 3.0, 0.5, 3.0])

P_ALCOHOL = np.array([0.08, 0.01, 0.05, 0.12, 0.45, 0.01, 0.40])  # among assessed adults, daytime
LOS_MEDIAN_H = np.array([3.5, 96.0, 200.0, 120.0, 8.0, 1.5, 10.0])
LOS_SIGMA = np.array([0.5, 0.7, 0.8, 0.6, 0.6, 0.5, 1.0])
VITALS_MISSING_BY_TRIAGE = np.array([0.02, 0.04, 0.15, 0.45, 0.65])

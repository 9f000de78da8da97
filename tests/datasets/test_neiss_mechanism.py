"""Tests of the NEISS mechanism rules on invented narratives (none is a real NEISS record)."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from traumasynth.core.errors import DataError
from traumasynth.datasets.neiss_mechanism import MECHANISMS, REQUIRED_COLUMNS, clean_narrative, derive_mechanism

# (narrative, diagnosis, first product, expected class): invented cases in NEISS coder style.
CASES = [
    # one or more per class
    ("72YOF SLIPPED ON ICE IN DRIVEWAY DX WRIST FX", "FRACTURE", "", "fall"),
    ("80YOM TRIPPED OVER THE DOG AND LANDED ON HIP", "CONTUSIONS, ABR.", "", "fall"),
    ("8MOF ROLLED OFF THE BED ONTO CARPET", "INTERNAL INJURY", "BEDS OR BEDFRAMES, OTHER OR NOT SPECIFIED", "fall"),
    ("30YOM WRECKED HIS BIKE ON GRAVEL DX CLAVICLE FX", "FRACTURE", "BICYCLES OR ACCESSORIES", "fall"),
    ("12YOM HIT IN FACE WITH A BASEBALL DX NASAL CONTUSION", "CONTUSIONS, ABR.", "", "struck_by_or_against"),
    ("9YOF CAUGHT FINGER IN CAR DOOR", "CRUSHING", "DOORS, OTHER OR NOT SPECIFIED", "struck_by_or_against"),
    ("25YOM CUT HAND ON BROKEN GLASS DX LAC", "LACERATION", "", "cut_or_pierce"),
    ("44YOF LAC TO THUMB USING A KNIFE", "LACERATION", "KNIVES, NOT ELSEWHERE CLASSIFIED", "cut_or_pierce"),
    ("40YOM LIFTING HEAVY BOXES, LOW BACK PAIN", "STRAIN, SPRAIN", "", "overexertion"),
    ("17YOF ROLLED HER ANKLE PLAYING SOCCER", "STRAIN, SPRAIN", "", "overexertion"),
    ("2YOF PULLED A CUP OF HOT COFFEE ONTO HERSELF", "BURN, SCALD", "", "fire_or_burn"),
    ("50YOM SMOKE INHALATION IN A HOUSE FIRE", "ANOXIA", "", "fire_or_burn"),
    ("2YOM INGESTED GRANDMOTHERS PILLS", "POISONING", "", "poisoning"),
    ("3YOF INTO BOTTLE OF MEDICINE, UNKNOWN AMOUNT", "INGESTION", "TABLET OR CAPSULE DRUGS", "poisoning"),
    ("19YOM OVERDOSE AT A PARTY", "OTHER", "", "poisoning"),
    ("7YOF BITTEN BY NEIGHBORS DOG ON ARM", "PUNCTURE", "", "bite_or_sting"),
    ("35YOM STUNG BY A BEE ON THE HAND", "OTHER", "", "bite_or_sting"),
    ("6YOF A SPIDER BIT HER LEG", "OTHER", "", "bite_or_sting"),
    ("4YOM PUT A BEAD IN HIS NOSE", "FOREIGN BODY", "", "foreign_body"),
    ("3YOF SWALLOWED A COIN", "INGESTION", "COINS", "foreign_body"),
    ("60YOM CHOKED ON A PIECE OF STEAK", "ANOXIA", "", "foreign_body"),
    ("55YOM CHEST PAIN AFTER SHOVELING SNOW", "OTHER", "", "other"),
    ("", "OTHER", "", "other"),
    # priority conflicts
    ("22YOM FELL AND CUT HEAD ON COFFEE TABLE", "LACERATION", "", "fall"),
    ("5YOM FELL OFF SWING AND HIT HEAD", "CONCUSSION", "", "fall"),
    ("30YOF FELL AGAINST WOOD STOVE AND BURNED ARM", "BURNS, THERMAL", "", "fire_or_burn"),
    ("81YOF OVERDOSE, FOUND ON FLOOR AFTER A FALL", "POISONING", "", "poisoning"),
    ("4YOM TV FELL ON HIM WHILE CLIMBING DRESSER", "CONTUSIONS, ABR.", "", "struck_by_or_against"),
    ("45YOF DROPPED A CAN OF PAINT ON HER FOOT", "FRACTURE", "", "struck_by_or_against"),
    ("9YOF DOG BIT HER FACE AND SHE FELL", "LACERATION", "", "bite_or_sting"),
    ("5YOF FELL ON GLASS, FB IN PALM", "FOREIGN BODY", "", "foreign_body"),
    ("28YOM CRASHED INTO A PARKED CAR ON SCOOTER", "CONTUSIONS, ABR.", "", "struck_by_or_against"),
    # negations and false friends
    ("DENIES FALL, HAND PAIN AFTER PUNCHING A WALL", "CONTUSIONS, ABR.", "", "struck_by_or_against"),
    ("33YOF FELL ASLEEP ON COUCH, WOKE WITH NECK PAIN", "STRAIN, SPRAIN", "", "overexertion"),
    ("KNIFE SLIPPED WHILE CUTTING ONIONS, LAC THUMB", "LACERATION", "", "cut_or_pierce"),
    ("6YOM BIT HIS TONGUE WHEN HE FELL OFF SCOOTER", "LACERATION", "", "fall"),
    ("71YOF ALMOST FELL ON STAIRS, TWISTED ANKLE", "STRAIN, SPRAIN", "STAIRS OR STEPS", "overexertion"),
    ("HIT HEAD ON CABINET, NO LAC, NO LOC", "CONTUSIONS, ABR.", "", "struck_by_or_against"),
    ("40YOM THE DRILL BIT HIT HIS HAND", "PUNCTURE", "", "struck_by_or_against"),
    ("15YOM RUG BURN ON KNEE PLAYING INDOOR SOCCER", "CONTUSIONS, ABR.", "", "struck_by_or_against"),
    ("50YOM WAS CUTTING THE GRASS AND STRAINED HIS BACK", "STRAIN, SPRAIN", "", "overexertion"),
    ("27yof fell down the stairs", "FRACTURE", "", "fall"),  # lower-case text is upper-cased first
    # diagnosis fallbacks when the narrative says nothing usable
    ("PAIN IN KNEE", "STRAIN, SPRAIN", "", "overexertion"),
    ("LAC TO SCALP", "LACERATION", "", "cut_or_pierce"),
    ("BRUISE ON ARM", "HEMATOMA", "", "struck_by_or_against"),
]


def _frame(cases: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "narrative": [c[0] for c in cases],
            "diagnosis": [c[1] for c in cases],
            "product_1": [c[2] or None for c in cases],
            "product_2": [None] * len(cases),
            "product_3": [None] * len(cases),
        },
        index=pd.RangeIndex(100, 100 + len(cases)),
    )


@pytest.mark.parametrize(("narrative", "diagnosis", "product", "expected"), CASES)
def test_each_invented_case_gets_its_class(narrative: str, diagnosis: str, product: str, expected: str) -> None:
    label = derive_mechanism(frame=_frame([(narrative, diagnosis, product, expected)])).iloc[0]
    assert label == expected


def test_labels_cover_every_class_and_keep_the_index() -> None:
    frame = _frame(CASES)
    labels = derive_mechanism(frame=frame)
    assert labels.name == "mechanism"
    assert labels.index.equals(frame.index)
    assert set(labels) == set(MECHANISMS)
    assert labels.tolist() == [c[3] for c in CASES]


def test_second_and_third_products_count() -> None:
    frame = _frame([("2YOF FOUND WITH OPEN BOTTLE", "INGESTION", "", "")])
    assert derive_mechanism(frame=frame).iloc[0] == "foreign_body"
    frame["product_3"] = "OTHER DRUGS OR MEDICATIONS"
    assert derive_mechanism(frame=frame).iloc[0] == "poisoning"


def test_missing_text_and_diagnosis_fall_back_to_other() -> None:
    frame = _frame([("", "", "", "")])
    frame["narrative"] = None
    frame["diagnosis"] = None
    assert derive_mechanism(frame=frame).tolist() == ["other"]


def test_clean_narrative_drops_negated_words_and_false_friends() -> None:
    cleaned = clean_narrative(pd.Series(["pt denies fall", "FELL ASLEEP", "KNIFE SLIPPED", "FELL"]))
    assert "FALL" not in cleaned.iloc[0]
    assert "FELL" not in cleaned.iloc[1]
    assert "SLIPPED" not in cleaned.iloc[2]
    assert cleaned.iloc[3] == "FELL"


def test_missing_columns_are_an_error() -> None:
    with pytest.raises(DataError) as err:
        derive_mechanism(frame=pd.DataFrame({"narrative": ["FELL"]}))
    for column in REQUIRED_COLUMNS[1:]:
        assert column in str(err.value)


def test_ten_thousand_rows_take_under_a_second() -> None:
    frame = _frame(CASES * (10_000 // len(CASES) + 1)).iloc[:10_000]
    started = time.process_time()  # CPU time: the test machine is shared
    labels = derive_mechanism(frame=frame)
    assert time.process_time() - started < 1.0
    assert len(labels) == 10_000

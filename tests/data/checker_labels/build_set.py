# ruff: noqa: E501  (the hand labels and edits are data: one line each, long strings kept whole)
"""Write ``labels.jsonl``, the checker's labelled set, from the pipeline's own ed_trauma_sim outputs.

Run once, by hand, on the outputs of commit 7f836c9 (``data/synthetic/{vae,ddpm}.parquet`` and
``data/narratives/{vae,ddpm}.parquet``: Gemma 3 270M, prompt v1)::

    python tests/data/checker_labels/build_set.py --data-dir data --out tests/data/checker_labels/labels.jsonl

``labels.jsonl`` is the committed truth; this script only records how it was made. The labels
below were written by reading each note against its row (rules in ``LABELLING.md``), not by
running the checker. Rows are simulated (``ed_trauma_sim``), not patients.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

#: The row's columns kept in the set: every fact a note is labelled against.
COLUMNS = (
    "age", "sex", "mechanism", "place", "arrival_mode", "alcohol_suspected", "triage_level", "gcs", "sbp",
    "heart_rate", "resp_rate", "spo2", "temperature", "pain_score", "injury_type", "body_region", "imaging",
    "disposition",
)  # fmt: skip

# Model notes as written: row id -> (contradicted facts, labeller's comment).
MODEL: dict[str, tuple[list[str], str]] = {
    "vae-000001": ([], ""),
    "vae-000002": (
        ["mechanism", "arrival_mode", "spo2"],
        "'car accident' for a work accident (R3); SpO2 with none measured (R7)",
    ),
    "vae-000003": (["place"], "'at home', row place other (R4)"),
    "vae-000004": (["mechanism"], "'car accident' for a domestic accident"),
    "vae-000005": (
        ["mechanism", "arrival_mode"],
        "'serious injury at work' is the only mechanism, row road traffic (R3)",
    ),
    "vae-000006": (["imaging"], "'no X-ray, no CT', row X-ray and CT"),
    "vae-000007": (
        ["mechanism", "place", "arrival_mode", "triage", "body_region", "injury_type", "imaging"],
        "copied few-shot example: multiple injuries and an open tibial fracture for a wound of the leg (R9, R8); trauma CT",
    ),
    "vae-000008": (["place", "arrival_mode"], "left/right wrist/hand: no side in the row (R12)"),
    "vae-000009": ([], ""),
    "vae-000010": (["place", "pain"], "'fall from a car' is a fall; places home and road, row other"),
    "vae-000011": ([], ""),
    "vae-000012": (["arrival_mode", "imaging"], ""),
    "vae-000013": ([], ""),
    "vae-000014": (["arrival_mode"], ""),
    "vae-000015": (["arrival_mode", "alcohol", "disposition"], "'outside of a bar' is a public place"),
    "vae-000016": (
        ["pain", "imaging"],
        "'no pain' against pain 3/10 (R7); 'Drowsy' with no GCS recorded is unsupported",
    ),
    "vae-000017": (["imaging"], "'run to a party' names no coded mechanism: not a contradiction"),
    "vae-000018": (["place"], "states public place and home (R4: any wrong place)"),
    "vae-000019": ([], "'16-year-old man': age and sex right"),
    "vae-000020": ([], ""),
    "vae-000021": (["place", "injury_type", "imaging"], "wound of arm for a fracture; no X-ray for X-ray"),
    "vae-000022": ([], ""),
    "vae-000023": (["place"], "eyelid is face, row head: compatible (R9)"),
    "vae-000024": (["place", "triage"], ""),
    "vae-000025": (["place", "arrival_mode", "imaging"], "'sports injury' right"),
    "vae-000026": (["arrival_mode"], "'car accident, at work' keeps the work context (R3)"),
    "vae-000027": ([], ""),
    "vae-000028": (["imaging", "disposition"], "'Concussion advice given' is advice, not a diagnosis (R8)"),
    "vae-000029": ([], ""),
    "vae-000030": ([], ""),
    "vae-000031": ([], "'on the road' twice, arrival omitted"),
    "vae-000032": (["place", "imaging", "disposition"], ""),
    "vae-000033": (
        ["imaging"],
        "'hit a vehicle in a parking lot': road traffic; ambulance for SMUR is less specific, not wrong (R5)",
    ),
    "vae-000034": (["arrival_mode"], ""),
    "vae-000035": (["gcs"], "'Drowsy' with GCS 15 (R7)"),
    "vae-000036": (
        ["arrival_mode", "disposition"],
        "'fall on her right knee' describes the fall, not an injured region",
    ),
    "vae-000037": (["mechanism", "arrival_mode"], "high-speed road traffic accident for a work accident"),
    "vae-000038": (["mechanism", "place"], ""),
    "vae-000039": ([], ""),
    "vae-000040": ([], ""),
    "vae-000041": ([], ""),
    "vae-000042": (["mechanism", "place", "injury_type", "imaging"], ""),
    "vae-000043": (["mechanism", "arrival_mode"], ""),
    "vae-000044": ([], ""),
    "vae-000045": (
        ["imaging"],
        "'CT, no X-ray, no imaging': 'no imaging' denies the CT; 'Drove by ambulance' for SMUR (R5)",
    ),
    "ddpm-000001": ([], "'Drowsy' with no GCS recorded is unsupported"),
    "ddpm-000002": (["imaging", "disposition"], "'transported to hospital for observation' is not a discharge home"),
    "ddpm-000003": (["imaging"], "'CT, no imaging'"),
    "ddpm-000004": (["mechanism"], "'0-year-old boy' is right; 'no fracture' for a wound is fine"),
    "ddpm-000005": (["mechanism", "spo2", "injury_type", "imaging"], "'injured at work' only; fracture for contusion"),
    "ddpm-000006": (["place"], "workplace and road, row road"),
    "ddpm-000007": (["imaging"], "'car accident at work' keeps the work context (R3)"),
    "ddpm-000008": (["arrival_mode", "injury_type"], "laceration for a sprain; ear is face"),
    "ddpm-000009": ([], ""),
    "ddpm-000010": (["injury_type"], "'No wound' denies the coded wound (R10)"),
    "ddpm-000011": ([], ""),
    "ddpm-000012": (["arrival_mode"], ""),
    "ddpm-000013": (["place"], ""),
    "ddpm-000014": (["gcs", "imaging"], "'Drowsy' with GCS 15"),
    "ddpm-000015": (
        ["mechanism", "place", "arrival_mode", "triage", "gcs", "sbp", "heart_rate", "spo2"],
        "car accident on the highway for an assault in a public place; invented GCS, SBP, HR",
    ),
    "ddpm-000016": (["imaging"], ""),
    "ddpm-000017": (["mechanism", "place"], ""),
    "ddpm-000018": ([], ""),
    "ddpm-000019": (["mechanism", "arrival_mode"], "'lost control of the car' for a sport injury"),
    "ddpm-000020": (
        ["heart_rate", "spo2", "injury_type", "disposition"],
        "laceration only, row fracture; theatre and home both stated (R11); hand still named, so region not labelled",
    ),
    "ddpm-000021": (["place"], "home and public place"),
    "ddpm-000022": ([], ""),
    "ddpm-000023": ([], "'Concussion advice given' for a facial contusion is advice (R8); 'Drowsy' with no GCS"),
    "ddpm-000024": ([], ""),
    "ddpm-000025": ([], ""),
    "ddpm-000026": (["mechanism", "place"], "'car accident, in the street' for a work accident at the workplace"),
    "ddpm-000027": (["place"], ""),
    "ddpm-000028": (["disposition"], "'a burn of leg' added beside the coded wound: not a contradiction (R8)"),
    "ddpm-000029": ([], ""),
    "ddpm-000030": ([], ""),
    "ddpm-000031": (["arrival_mode"], ""),
    "ddpm-000032": (["imaging", "gcs"], "'Head trauma' for face is compatible (R9); 'Drowsy' with GCS 15"),
    "ddpm-000033": ([], ""),
    "ddpm-000034": (["place", "arrival_mode"], ""),
    "ddpm-000035": ([], ""),
    "ddpm-000036": ([], ""),
    "ddpm-000037": (
        ["heart_rate"],
        "'car accident, at the workplace' keeps the work context (R3); HR where none measured",
    ),
    "ddpm-000038": (["pain", "imaging"], ""),
    "ddpm-000039": (["imaging"], "'X-ray, no imaging'"),
    "ddpm-000040": ([], "'Drowsy' with no GCS; 'no visual field injury' negated"),
    "ddpm-000041": (
        ["place", "gcs", "sex"],
        "'protecting her airway' for a man; 'Drowsy' with GCS 15; 'injury 1/10' is not read as pain",
    ),
    "ddpm-000042": (["place"], "road and public place; '17-year-old woman' right"),
    "ddpm-000043": ([], ""),
    "ddpm-000044": ([], ""),
    "ddpm-000045": ([], ""),
}

# Corrupted notes: (base row id, kind, [(old, new), ...] edits of its clean model note, contradicted facts).
# A `decoy_*` kind is an edit that is NOT a contradiction (it measures precision).
# An `old` of "$" appends `new` to the note.
CORRUPTED: list[tuple[str, str, list[tuple[str, str]], list[str]]] = [
    # wrong age, digits
    ("vae-000001", "age_digits", [("72-year-old woman", "27-year-old woman")], ["age"]),
    ("vae-000022", "age_digits", [("82-year-old man", "62-year-old man")], ["age"]),
    ("ddpm-000011", "age_digits", [("2-year-old boy", "12-year-old boy")], ["age"]),
    ("ddpm-000029", "age_digits", [("40-year-old man", "46 y/o man")], ["age"]),
    ("ddpm-000044", "age_digits", [("44-year-old man", "Man aged 47")], ["age"]),
    ("vae-000040", "age_digits", [("$", " Patient is 63 years old.")], ["age"]),
    ("ddpm-000011", "age_digits", [("2-year-old boy", "20-month-old boy")], ["age"]),
    # wrong age, words
    ("vae-000013", "age_words", [("80-year-old woman", "Eighty-five-year-old woman")], ["age"]),
    ("vae-000039", "age_words", [("41-year-old woman", "Forty-four-year-old woman")], ["age"]),
    ("ddpm-000025", "age_words", [("23-year-old man", "Thirty-two-year-old man")], ["age"]),
    ("ddpm-000035", "age_words", [("7-year-old boy", "Nine-year-old boy")], ["age"]),
    ("vae-000027", "age_words", [("81-year-old man", "Man aged eighty-seven")], ["age"]),
    ("ddpm-000030", "age_words", [("13-year-old girl", "Fifteen-year-old girl")], ["age"]),
    # wrong sex, nouns
    ("vae-000009", "sex_noun", [("34-year-old woman", "34-year-old man")], ["sex"]),
    ("vae-000041", "sex_noun", [("79-year-old man", "79-year-old woman")], ["sex"]),
    ("ddpm-000018", "sex_noun", [("21-year-old man", "21-year-old female")], ["sex"]),
    ("ddpm-000030", "sex_noun", [("13-year-old girl", "13-year-old boy")], ["sex"]),
    ("vae-000044", "sex_noun", [("82-year-old woman", "82-year-old gentleman")], ["sex"]),
    # wrong sex, pronouns
    ("vae-000019", "sex_pronoun", [("$", " She was given analgesia.")], ["sex"]),
    ("ddpm-000022", "sex_pronoun", [("contusion of wrist/hand", "contusion of his wrist/hand")], ["sex"]),
    ("vae-000022", "sex_pronoun", [("$", " Her leg was splinted.")], ["sex"]),
    ("ddpm-000044", "sex_pronoun", [("$", " She was given analgesia and kept comfortable.")], ["sex"]),
    ("vae-000030", "sex_pronoun", [("wound of face", "wound of his face")], ["sex"]),
    ("ddpm-000024", "sex_pronoun", [("$", " Cannula sited, his sister informed.")], ["sex"]),
    # wrong mechanism
    ("vae-000001", "mechanism", [("fall, at home", "assaulted, at home")], ["mechanism"]),
    ("vae-000039", "mechanism", [("fall, at home", "punched by a neighbour at home")], ["mechanism"]),
    ("ddpm-000029", "mechanism", [("road traffic collision", "fall from a ladder")], ["mechanism"]),
    ("vae-000019", "mechanism", [("sport injury", "car accident")], ["mechanism"]),
    ("ddpm-000043", "mechanism", [("sport injury", "assault")], ["mechanism"]),
    ("vae-000027", "mechanism", [("self-harm at home", "work accident at home")], ["mechanism"]),
    ("vae-000040", "mechanism", [("domestic accident", "road traffic collision")], ["mechanism"]),
    # wrong vital sign (or one the row has not measured)
    ("vae-000001", "vital", [("GCS 9", "GCS 14")], ["gcs"]),
    ("vae-000013", "vital", [("SBP 206", "SBP 106")], ["sbp"]),
    ("ddpm-000025", "vital", [("HR 136", "HR 163")], ["heart_rate"]),
    ("ddpm-000011", "vital", [("RR 32", "RR 23")], ["resp_rate"]),
    ("ddpm-000018", "vital", [("SpO2 76%", "SpO2 96%")], ["spo2"]),
    ("vae-000022", "vital", [("temp 37.2 °C", "temp 38.2 °C")], ["temperature"]),
    ("ddpm-000030", "vital", [("pain 9/10", "pain 3/10")], ["pain"]),
    ("vae-000009", "vital", [("SBP 106", "BP 160")], ["sbp"]),
    ("vae-000039", "vital", [("HR 73", "heart rate 93")], ["heart_rate"]),
    ("ddpm-000029", "vital", [("GCS 9", "GCS fourteen")], ["gcs"]),
    ("vae-000019", "vital", [("HR 60, RR 19", "HR 60, RR 19, SBP 128")], ["sbp"]),
    ("vae-000030", "vital", [("pain 9/10", "pain 4/10")], ["pain"]),
    ("vae-000041", "vital", [("Triage 4", "Triage 2")], ["triage"]),
    ("ddpm-000043", "vital", [("Triage 5", "triage category 3")], ["triage"]),
    # negation flips: the note denies what the row codes
    (
        "vae-000013",
        "negation",
        [("fracture of wrist/hand, CT", "wrist/hand injury, CT shows no fracture")],
        ["injury_type"],
    ),
    ("ddpm-000018", "negation", [("pain 6/10", "no pain")], ["pain"]),
    ("vae-000040", "negation", [("wound of wrist/hand, X-ray", "wound of wrist/hand, no imaging")], ["imaging"]),
    ("ddpm-000023", "negation", [("alcohol suspected", "no alcohol suspected")], ["alcohol"]),
    ("vae-000044", "negation", [("fall, at home", "did not fall, injured at home")], ["mechanism"]),
    (
        "ddpm-000035",
        "negation",
        [("fracture of arm, no imaging", "no fracture of the arm, no imaging")],
        ["injury_type"],
    ),
    ("ddpm-000009", "negation", [("admitted to ward", "not admitted, discharged home")], ["disposition"]),
    ("vae-000029", "negation", [("Fracture of head, X-ray, CT", "Fracture of head, no X-ray, no CT")], ["imaging"]),
    # wrong body region, injury type, disposition, imaging, arrival, place
    ("ddpm-000044", "body_region", [("fracture of hip/pelvis", "fracture of shoulder")], ["body_region"]),
    ("vae-000030", "body_region", [("wound of face", "wound of knee")], ["body_region"]),
    ("ddpm-000043", "body_region", [("dislocation of arm", "dislocation of hip")], ["body_region"]),
    ("vae-000039", "body_region", [("fracture of arm", "fracture of ribs")], ["body_region"]),
    ("vae-000022", "injury_type", [("fracture of leg", "sprain of leg")], ["injury_type"]),
    ("ddpm-000018", "injury_type", [("contusion of leg", "laceration of leg")], ["injury_type"]),
    ("vae-000001", "injury_type", [("wound of multiple regions", "burns of multiple regions")], ["injury_type"]),
    ("vae-000001", "disposition", [("discharged home", "admitted to ICU")], ["disposition"]),
    ("vae-000027", "disposition", [("admitted to ward", "discharged home")], ["disposition"]),
    ("ddpm-000029", "disposition", [("taken to theatre", "transferred to another hospital")], ["disposition"]),
    ("vae-000022", "disposition", [("taken to theatre", "left without being seen")], ["disposition"]),
    ("vae-000001", "imaging", [("no imaging", "X-ray")], ["imaging"]),
    ("ddpm-000022", "imaging", [("X-ray", "CT")], ["imaging"]),
    ("vae-000044", "imaging", [("X-ray", "X-ray and CT")], ["imaging"]),
    ("vae-000009", "arrival", [("came by own means", "brought in by ambulance")], ["arrival_mode"]),
    ("vae-000013", "arrival", [("brought in by ambulance", "came by own means")], ["arrival_mode"]),
    ("ddpm-000025", "arrival", [("brought in by ambulance", "brought in by police")], ["arrival_mode"]),
    ("vae-000039", "place", [("at home", "on the road")], ["place"]),
    ("ddpm-000018", "place", [("at a sports facility", "at school")], ["place"]),
    ("ddpm-000029", "place", [("on the road", "at home")], ["place"]),
    ("vae-000041", "age_sex_words", [("79-year-old man", "Seventy-year-old woman")], ["age", "sex"]),
    # decoys: edits that contradict nothing
    ("vae-000001", "decoy_age_words", [("72-year-old woman", "Seventy-two-year-old woman")], []),
    ("ddpm-000025", "decoy_age_words", [("23-year-old man", "Twenty-three-year-old man")], []),
    ("vae-000027", "decoy_age_words", [("81-year-old man", "Man aged eighty-one")], []),
    ("ddpm-000011", "decoy_age_words", [("2-year-old boy", "Two-year-old boy")], []),
    ("ddpm-000011", "decoy_age_words", [("2-year-old boy", "24-month-old boy")], []),
    ("vae-000039", "decoy_age_approx", [("41-year-old woman", "Woman in her forties")], []),
    ("vae-000022", "decoy_age_approx", [("82-year-old man", "Man in his eighties")], []),
    ("ddpm-000030", "decoy_age_approx", [("13-year-old girl", "Teenage girl")], []),
    ("ddpm-000044", "decoy_age_approx", [("44-year-old man", "Man in his mid-forties")], []),
    ("vae-000009", "decoy_synonym", [("fracture of thorax", "broken ribs")], []),
    ("vae-000030", "decoy_synonym", [("wound of face", "laceration of the cheek")], []),
    ("ddpm-000029", "decoy_synonym", [("road traffic collision", "RTC, car driver")], []),
    ("vae-000019", "decoy_synonym", [("sport injury", "injured playing rugby")], []),
    ("ddpm-000022", "decoy_synonym", [("admitted to ward", "admitted for observation on the ward")], []),
    ("vae-000013", "decoy_synonym", [("brought in by ambulance", "arrived by ambulance")], []),
    ("vae-000040", "decoy_synonym", [("wound of wrist/hand", "cut to the hand")], []),
    (
        "vae-000044",
        "decoy_paraphrase",
        [
            (
                "82-year-old woman, fall, at home, brought in by ambulance, Triage 4, sprain of arm, X-ray, discharged home",
                "82-year-old woman who fell at home, brought in by ambulance. Triage 4. Sprained arm, X-ray done. Discharged home.",
            )
        ],
        [],
    ),
    (
        "ddpm-000035",
        "decoy_paraphrase",
        [
            (
                "7-year-old boy, fall, at home, came by own means, Triage 4. GCS 9, SBP 145, HR 115, fracture of arm, no imaging, discharged home",
                "7-year-old boy who fell at home, came in by his own means. Triage 4. GCS 9, SBP 145, HR 115. Fractured arm, no imaging. Discharged home.",
            )
        ],
        [],
    ),
    (
        "vae-000041",
        "decoy_paraphrase",
        [
            (
                "79-year-old man, domestic accident at home, brought in by ambulance, Triage 4. GCS 15, pain 3/10, fracture of wrist/hand, no imaging, discharged home with fracture clinic review.",
                "79-year-old man had a domestic accident at home and was brought in by ambulance. Triage 4. GCS 15, pain 3/10. He has a fracture of the wrist, no imaging. He goes home with fracture clinic review.",
            )
        ],
        [],
    ),
    (
        "ddpm-000043",
        "decoy_paraphrase",
        [
            (
                "27-year-old man, sport injury, at a sports facility, came by own means, Triage 5, SpO2 99%, pain 4/10, dislocation of arm, no imaging, discharged home",
                "27-year-old man injured during a football match at a sports facility, came by own means. Triage 5, SpO2 99%, pain 4/10. Dislocated shoulder, no imaging. Discharged home.",
            )
        ],
        [],
    ),
    (
        "ddpm-000024",
        "decoy_paraphrase",
        [
            (
                "30-year-old woman, self-harm at home, brought in by ambulance. Triage 3. GCS 15, SBP 148, HR 193, SpO2 99%, pain 8/10, wound of wrist/hand, no imaging, transferred",
                "30-year-old woman, deliberate self-harm at home with alcohol suspected, brought in by ambulance. Triage 3. GCS 15, SBP 148, HR 193, SpO2 99%, pain 8/10. Laceration of the wrist, no imaging. Transferred.",
            )
        ],
        [],
    ),
    ("vae-000040", "decoy_side", [("wound of wrist/hand", "wound of the left hand")], []),
    ("ddpm-000044", "decoy_side", [("fracture of hip/pelvis", "fracture of the right hip")], []),
    ("vae-000039", "decoy_side", [("fracture of arm", "fracture of the left arm")], []),
    ("ddpm-000025", "decoy_side", [("fracture of leg", "fracture of the right leg")], []),
    ("vae-000022", "decoy_negation", [("$", " No head injury, no loss of consciousness.")], []),
    ("ddpm-000018", "decoy_negation", [("contusion of leg", "contusion of leg, no fracture")], []),
    ("ddpm-000029", "decoy_negation", [("$", " No alcohol suspected.")], []),
    (
        "vae-000044",
        "decoy_negation",
        [("sprain of arm, X-ray", "sprain of arm, X-ray shows no fracture or dislocation")],
        [],
    ),
    ("vae-000009", "decoy_negation", [("$", " Not an assault.")], []),
    ("ddpm-000011", "decoy_third_party", [("$", " His mother said she saw him fall.")], []),
    ("vae-000019", "decoy_third_party", [("$", " Seen with his mother; she will drive him back.")], []),
    ("ddpm-000030", "decoy_third_party", [("$", " Her father brought her; he saw the fall.")], []),
]


def _edit(note: str, edits: list[tuple[str, str]]) -> str:
    for old, new in edits:
        if old == "$":
            note = note.rstrip()
            note = (note if note.endswith(".") else note + ".") + new
            continue
        if old not in note:
            raise SystemExit(f"edit {old!r} not found in note {note!r}")
        note = note.replace(old, new, 1)
    return note


def _value(v: object) -> object:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return v.item() if hasattr(v, "item") else v


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("labels.jsonl"))
    args = parser.parse_args()
    rows: dict[str, dict[str, object]] = {}
    notes: dict[str, str] = {}
    for model in ("vae", "ddpm"):
        synthetic = pd.read_parquet(args.data_dir / "synthetic" / f"{model}.parquet").set_index("patient_id")
        narratives = pd.read_parquet(args.data_dir / "narratives" / f"{model}.parquet")
        for row_id, note in zip(narratives["row_id"], narratives["narrative"], strict=True):
            if row_id in MODEL:
                rows[row_id] = {c: _value(synthetic.loc[row_id, c]) for c in COLUMNS}
                notes[row_id] = note
    items = []
    for row_id, (facts, comment) in MODEL.items():
        items.append({"id": row_id, "source": "model", "row": rows[row_id], "narrative": notes[row_id],
                      "contradicted": sorted(facts), "comment": comment})  # fmt: skip
    for i, (base, kind, edits, facts) in enumerate(CORRUPTED):
        if MODEL[base][0]:
            raise SystemExit(f"corruption base {base} is not a clean note")
        items.append({"id": f"{base}~{i:03d}", "source": f"corrupted:{kind}", "row": rows[base],
                      "narrative": _edit(notes[base], edits), "contradicted": sorted(facts), "comment": ""})  # fmt: skip
    with args.out.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(items)} items -> {args.out}")


if __name__ == "__main__":
    main()

"""Guess a column's kind, unit and role from its header's words and a codebook's wording, for the draft.

A header becomes a snake_case name (``snake_case``) whose whole words are looked up in
``HEADER_WORDS``, first match wins (``guess_from_header``). What a codebook says of a variable
(its description and notes) is searched for the phrases of ``CODEBOOK_PHRASES``
(``guess_from_wording``): a survey weight, a code column, free text, an identifier, a date, the
injury mechanism. The guesses are suggestions a person checks: the draft marks each with a
``# TODO`` comment or cites the codebook. No value of the table is read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Guess:
    """What a header's words suggest. ``kind`` None: not modelled (``why`` says what it looks like)."""

    kind: str | None
    why: str
    role: str = "feature"
    unit: str | None = None
    bounds: str | None = None  # an example for the TODO comment, never written as a value
    categories: str | None = None  # idem
    nullable: bool = False
    unless_listed: bool = False  # kind None, but a codebook's list of values makes it categorical


SURVEY_WEIGHT: Final = Guess(
    "weight",
    "a survey weight: how many people of the population the row stands for; never modelled, the synthetic "
    "rows are unweighted (docs/data.md); to check it, list it as `kind: weight, role: excluded` with bounds",
    role="excluded",
)
SURVEY_DESIGN: Final = Guess(None, "survey design (stratum, PSU): how the sample was drawn, not a fact of the visit")
CODES: Final = Guess(
    None,
    "diagnosis or product codes (ICD...): thousands of values, not modelled as they are; "
    "map them to a few public groups in a new column to model them",
    unless_listed=True,
)
FREE_TEXT: Final = Guess(
    "text",
    "free text, never modelled; list it as `kind: text, role: narrative` to carry it for the text metrics",
    role="excluded",
    nullable=True,
)
BODY_WEIGHT: Final = Guess(
    "continuous",
    "body weight; a survey weight is `kind: weight, role: excluded`, docs/data.md",
    unit="kg",
    bounds="[1, 250]",
    nullable=True,
)
MECHANISM: Final = Guess(
    "categorical",
    "the injury mechanism, the class label",
    role="target",
    categories="[fall, road_traffic, assault, sport, work, self_harm, other]",
)

#: (header words, guess), first match wins. A word matches whole words of the snake_case name
#: (``hr`` matches ``first_hr``, not ``hrs``); a multi-word entry matches them in sequence.
HEADER_WORDS: Final[tuple[tuple[tuple[str, ...], Guess], ...]] = (
    (("name", "surname", "first_name", "last_name", "nom", "prenom", "address", "adresse", "phone",
      "telephone", "email", "mail", "zip", "postcode", "code_postal", "insurance", "ssn", "nir", "doctor",
      "physician", "nurse", "medecin", "infirmier", "bed", "room", "dob", "birth", "naissance"),
     Guess(None, "personal or administrative: never modelled (model age rather than a birth date)")),
    (("psu", "stratum", "strata"), SURVEY_DESIGN),
    (("survey_weight", "sampling_weight", "sample_weight", "statistical_weight", "design_weight", "final_weight",
      "pweight", "pwt", "perwt", "finalwt"), SURVEY_WEIGHT),
    (("id", "ids", "mrn", "ipp", "nda", "iep", "uuid", "guid", "number", "numero", "num", "nr"),
     Guess("identifier", "an identifier", role="excluded")),
    (("narrative", "narratives", "note", "notes", "comment", "comments", "commentaire", "commentaires",
      "remark", "remarks", "text", "free_text", "observation", "observations", "history", "anamnese",
      "summary", "report", "complaint", "description"),
     Guess("text", "free text", role="narrative", nullable=True)),
    (("min", "mins", "minutes"), Guess("integer", "a duration in minutes", unit="minutes", bounds="[0, 2880]")),
    (("los", "length_of_stay", "stay", "sejour", "hours", "hrs"),
     Guess("continuous", "a duration in hours", unit="hours", bounds="[0, 720]")),
    (("duration", "duree", "delay", "delai", "wait", "waiting", "time_to"), Guess("continuous", "a duration")),
    (("date", "datetime", "timestamp", "time", "dt"), Guess("datetime", "a date or time")),
    (("mechanism", "mecanisme", "cause", "moi", "mech"), MECHANISM),
    (("age",), Guess("integer", "age", unit="years", bounds="[0, 110]")),
    (("sex", "sexe", "gender", "genre"), Guess("categorical", "sex", categories="[female, male]")),
    (("hr", "heart_rate", "pulse", "fc", "pouls", "frequence_cardiaque"),
     Guess("integer", "heart rate", unit="beats/min", bounds="[20, 250]", nullable=True)),
    (("sbp", "systolic", "pas", "tas"), Guess("integer", "systolic pressure", unit="mmHg", bounds="[40, 250]",
                                           nullable=True)),
    (("dbp", "diastolic", "pad", "tad"), Guess("integer", "diastolic pressure", unit="mmHg", bounds="[20, 150]",
                                            nullable=True)),
    (("gcs", "glasgow"), Guess("integer", "Glasgow Coma Scale", unit="points", bounds="[3, 15]", nullable=True)),
    (("spo2", "sao2", "sat", "saturation"),
     Guess("integer", "oxygen saturation", unit="%", bounds="[50, 100]", nullable=True)),
    (("rr", "resp_rate", "respiratory_rate", "fr", "frequence_respiratoire"),
     Guess("integer", "respiratory rate", unit="breaths/min", bounds="[4, 60]", nullable=True)),
    (("temp", "temperature"), Guess("continuous", "temperature", unit="°C", bounds="[32, 42]", nullable=True)),
    (("pain", "eva", "ena", "douleur"), Guess("integer", "pain score", unit="points", bounds="[0, 10]",
                                           nullable=True)),
    (("triage", "ccmu", "esi", "ctas", "acuity"), Guess("integer", "triage level", unit="level", bounds="[1, 5]")),
    (("weight", "poids"), BODY_WEIGHT),
    (("height", "taille"), Guess("continuous", "height", unit="cm", bounds="[40, 230]", nullable=True)),
    (("hour", "heure"), Guess("integer", "an hour of the day", unit="hour of day", bounds="[0, 23]")),
    (("weekday", "day_of_week", "dow", "jour"),
     Guess("categorical", "a weekday", categories="[monday, tuesday, wednesday, thursday, friday, saturday, sunday]")),
    (("month", "mois"), Guess("integer", "a month", unit="month", bounds="[1, 12]")),
    (("icd", "icd9", "icd10", "icd_9", "icd_10", "icd9cm", "icd10cm", "ecode", "e_code", "cpt", "snomed", "opcs",
      "code", "codes"), CODES),
    (("mode", "transport", "arrival_mode", "disposition", "outcome", "orientation", "destination", "devenir",
      "place", "location", "lieu", "activity", "activite", "alcohol", "alcool", "ethanol", "injury", "lesion",
      "diagnosis", "diagnostic", "dx", "region", "body_part", "localisation", "site", "imaging", "xray", "ct",
      "scanner", "radio", "residence", "area", "intent", "helmet", "seatbelt", "ward", "unit"),
     Guess("categorical", "a clinical category")),
)  # fmt: skip


def snake_case(text: str) -> str:
    """``"Fréquence cardiaque (bpm)"`` -> ``frequence_cardiaque_bpm``; ``"HeartRate"`` -> ``heart_rate``; '' if none."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    plain = re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])|(?<=[a-z])(?=I[Dd]\b)", "_", plain)
    name = re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")
    return f"col_{name}" if name[:1].isdigit() else name


def guess_from_header(name: str) -> Guess | None:
    """The first ``HEADER_WORDS`` entry whose words occur in the snake_case ``name``; None if none does."""
    padded = f"_{name}_"
    for words, guess in HEADER_WORDS:
        if any(f"_{word}_" in padded for word in words):
            return guess
    return None


#: Words of a header or a codebook description that make a free-text column the narrative.
NARRATIVE_WORDS: Final = (
    "narrative", "narratives", "note", "notes", "comment", "comments", "commentaire", "history", "anamnese",
    "summary", "report", "observation", "observations", "complaint",
)  # fmt: skip

#: (phrase pattern, guess) searched in what a codebook says of a variable, first match wins.
CODEBOOK_PHRASES: Final[tuple[tuple[str, Guess], ...]] = (
    (r"\bdate of birth\b|\bbirth ?date\b|\bhome address\b|\bphone number\b|\btelephone\b|\bpatient'?s? name\b"
     r"|\bname of the patient\b", Guess(None, "personal or administrative: never modelled")),
    (r"\b(survey|sampling|sample|statistical|design|expansion|probability|analysis|analytic|final|case) weights?\b"
     r"|\bweighting factor\b|\bnational estimates?\b|\binverse (of )?(the )?probability\b", SURVEY_WEIGHT),
    (r"\bsampling (stratum|strata|unit)\b|\bprimary sampling unit\b|\bpsu\b", SURVEY_DESIGN),
    (r"\bicd\b|\bicd-?\s?(9|10|11)|\b(diagnosis|diagnostic|procedure|product|external cause|ais|e|read|opcs) codes?\b"
     r"|\be-codes?\b|\bsnomed\b|\bopcs\b|\bcpt\b", CODES),
    (r"\bfree[- ]?text\b|\bspecify\b|\bverbatim\b|\bopen[- ](text|ended|answer)\b|\bwritten out\b"
     r"|\bas written\b|\bnarrative\b|\btext field\b", FREE_TEXT),
    (r"\bidentifier\b|\bunique (patient |record |case )?(id|number|key)\b"
     r"|\b(patient|record|case|visit|episode|encounter|registration|serial) (id|number|no)\b|\bid\b",
     Guess("identifier", "an identifier", role="excluded")),
    (r"^(date|date and time|time and date)\b|\bdate (and time )?of (injury|arrival|admission|discharge|visit"
     r"|treatment|presentation|attendance|death|surgery|registration)\b", Guess("datetime", "a date or time")),
    (r"\bmechanism\b|\bcause of (the )?injury\b|\bexternal cause\b", MECHANISM),
)  # fmt: skip


def guess_from_wording(text: str) -> tuple[Guess, str] | None:
    """The first ``CODEBOOK_PHRASES`` guess whose phrase occurs in ``text``, with the words that matched."""
    for pattern, guess in CODEBOOK_PHRASES:
        if match := re.search(pattern, text, re.I):
            return guess, match.group()
    return None


def looks_like_narrative(*texts: str) -> bool:
    """Whether a header or a description names a note, a history or a narrative (``NARRATIVE_WORDS``)."""
    return any(f"_{word}_" in f"_{snake_case(t)}_" for t in texts for word in NARRATIVE_WORDS)

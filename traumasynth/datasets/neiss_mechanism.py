"""Injury-mechanism label of NEISS cases, derived by documented keyword rules.

NEISS has no mechanism field. This module derives one from the coded diagnosis, the
product labels and the coder-written narrative (upper-case text such as ``FELL``,
``SLIPPED``, ``BITTEN BY DOG``, ``LAC``, ``INGESTED``). The rules are fixed and
public: they read nothing from the data but the row itself.

Classes (:data:`MECHANISMS`): ``fall``, ``struck_by_or_against``, ``cut_or_pierce``,
``overexertion``, ``fire_or_burn``, ``poisoning``, ``bite_or_sting``,
``foreign_body``, ``other``.

Before matching, the narrative is cleaned of phrases that would mislead the rules:

- negations: ``DENIES FALL``, ``NO LAC``, ``DID NOT FALL``, ``WITHOUT ...`` drop the
  negated word;
- false friends: ``FELL ASLEEP``, ``LAST FALL`` (the season), ``ALMOST FELL`` /
  ``NEAR FALL`` (no fall happened), ``KNIFE SLIPPED`` (a tool, not the patient),
  self-bites ``BIT HIS TONGUE``, ``BITES HER NAILS``, ``DRILL BIT`` and ``A BIT``,
  ``RUG BURN`` / ``FRICTION BURN``,
  ``CUTTING GRASS`` / ``HAIRCUT`` (an activity, not the injury).

The first rule that fires gives the label (priority order):

1. ``poisoning``: diagnosis ``POISONING``.
2. ``fire_or_burn``: a burn diagnosis (thermal, scald, chemical, electrical, not specified).
3. ``poisoning``: diagnosis ``INGESTION`` with a drug, medication or chemical product.
4. ``foreign_body``: diagnosis ``FOREIGN BODY``, ``INGESTION`` or ``ASPIRATION``.
5. ``bite_or_sting``: ``BITTEN`` or ``STUNG``; or ``BIT``/``BITE``/``STING`` with an animal
   (``DOG``, ``SPIDER``, ``BEE``, ``SNAKE``, ``HUMAN``...) in the narrative or an
   insect-induced product (``THE BIT HIT HIS HAND`` is a drill bit, not a bite).
6. ``struck_by_or_against``: an object falling on the patient (``TV FELL ON HIM``,
   ``FELL ON HER FOOT``, ``DROPPED A WEIGHT ON HIS TOE``, ``FALLING TREE``). Checked
   before falls because the word ``FELL`` is in it.
7. ``fall``: ``FELL``, ``FALL``, ``SLIPPED``, ``TRIPPED``, ``STUMBLED``, ``LOST BALANCE``,
   ``ROLLED OFF THE BED``, ``JUMPED OFF``, and non-collision crashes (``WRECKED BIKE``,
   ``CRASHED``, ``THROWN OFF``; ``CRASHED INTO`` is struck) ... A fall outranks the injury it caused
   (``FELL AND CUT HEAD``, ``FELL AND HIT HEAD`` are falls).
8. ``fire_or_burn``: ``BURNED``, ``SCALDED``, ``SMOKE INHALATION``, ``CAUGHT FIRE``,
   ``FIREWORK`` ... in the narrative.
9. ``poisoning``: ``POISONING``, ``OVERDOSE``, ``OD``, ``INGESTED`` ... with a diagnosis
   that is not a physical injury (``OTHER``, ``ANOXIA``, ``DERMA/CONJUNCT``,
   ``INTERNAL INJURY``), or a drug/chemical product with diagnosis ``OTHER`` or ``ANOXIA``.
10. ``cut_or_pierce``: ``CUT``, ``STABBED``, ``SLICED``, ``PUNCTURE``, ``NEEDLE STICK``,
    ``STEPPED ON A NAIL`` ..., or a sharp object (knife, blade, saw, razor, scissors,
    glass, nail, needle) in the narrative or products with a laceration, puncture,
    amputation or avulsion diagnosis (or ``LAC`` in the narrative).
11. ``struck_by_or_against``: ``HIT``, ``STRUCK``, ``BUMPED``, ``KICKED``, ``PUNCHED``,
    ``ASSAULTED``, ``CAUGHT IN``, ``CRUSHED``, ``RAN INTO``, ``COLLIDED`` ...
12. ``overexertion``: ``LIFTING``, ``CARRYING``, ``TWISTED``, ``PULLED``, ``STRAINED``,
    ``FELT A POP``, ``ROLLED HIS ANKLE``, ``HYPEREXTENDED`` ...
13. ``foreign_body``: ``SWALLOWED``, ``CHOKED ON``, ``FOREIGN BODY``, ``FB IN``,
    ``STUCK IN HIS NOSE`` ...
14. Diagnosis fallbacks when the narrative says nothing usable: laceration, puncture,
    amputation, avulsion -> ``cut_or_pierce``; strain/sprain, dislocation ->
    ``overexertion``; contusion, hematoma, concussion, crushing -> ``struck_by_or_against``.
15. ``other``: everything else (illness, submersion, electric shock, unclear text).

Everything is vectorised (``Series.str.contains`` with compiled patterns), so 10,000
rows take a fraction of a second.
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np
import pandas as pd

from traumasynth.core.errors import DataError

MECHANISMS: Final[tuple[str, ...]] = (
    "fall",
    "struck_by_or_against",
    "cut_or_pierce",
    "overexertion",
    "fire_or_burn",
    "poisoning",
    "bite_or_sting",
    "foreign_body",
    "other",
)

#: Columns of the canonical NEISS frame the rules read.
REQUIRED_COLUMNS: Final[tuple[str, ...]] = ("narrative", "diagnosis", "product_1", "product_2", "product_3")

_BURN_DIAGNOSES = {"BURN, ELECTRICAL", "BURN, NOT SPEC.", "BURN, SCALD", "BURN, CHEMICAL", "BURNS, THERMAL"}
_FOREIGN_BODY_DIAGNOSES = {"FOREIGN BODY", "INGESTION", "ASPIRATION"}
_NON_INJURY_DIAGNOSES = {"OTHER", "ANOXIA", "DERMA/CONJUNCT", "INTERNAL INJURY", "INGESTION", "POISONING"}
_CUT_DIAGNOSES = {"LACERATION", "PUNCTURE", "AMPUTATION", "AVULSION"}
_OVEREXERTION_DIAGNOSES = {"STRAIN, SPRAIN", "DISLOCATION"}
_STRUCK_DIAGNOSES = {"CONTUSIONS, ABR.", "HEMATOMA", "CONCUSSION", "CRUSHING"}
_DIAGNOSIS_SETS: Final[dict[str, set[str]]] = {
    "burn": _BURN_DIAGNOSES,
    "foreign_body": _FOREIGN_BODY_DIAGNOSES,
    "non_injury": _NON_INJURY_DIAGNOSES,
    "non_injury_strict": {"OTHER", "ANOXIA", "INGESTION", "POISONING"},
    "cut": _CUT_DIAGNOSES,
    "overexertion": _OVEREXERTION_DIAGNOSES,
    "struck": _STRUCK_DIAGNOSES,
}


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# --- cleaning: phrases removed from the narrative before matching -----------------
_NEGATION = _rx(r"\b(?:DENIE[SD]|DENYING|NO|NOT|NEVER|WITHOUT|DIDN'?T|DID NOT|NEG(?:ATIVE)? FOR)\s+(?:ANY\s+|A\s+)?\w+")
_FALSE_FRIENDS = _rx(
    r"\bFELL\s+ASLEEP\b"
    r"|\b(?:LAST|THIS|IN\s+THE)\s+FALL\b"
    r"|\b(?:ALMOST|NEARLY)\s+(?:FELL|FALLING|SLIPPED|TRIPPED)\b"
    r"|\bNEAR[\s-]+FALL\b"
    r"|\b(?:PREVENT\w*|KEEP\s+FROM|CATCH\w*\s+(?:HIM|HER|THEM)SELF\s+FROM)\s+(?:A\s+)?FALL\w*"
    r"|\b(?:KNIFE|BLADE|SAW|SCISSORS|RAZOR|WRENCH|HAMMER|SCREWDRIVER|TOOL|GRIP|LID|CHISEL)\s+SLIPPED\b"
    r"|\bBIT(?:ES|ING)?\s+(?:(?:HIS|HER|THEIR|OWN|MY|THE)\s+)?(?:(?:LOWER|UPPER|OWN)\s+)?"
    r"(?:TONGUE|LIPS?|CHEEKS?|INSIDE|NAILS?|FINGERNAILS?)\b"
    r"|\b(?:DRILL|DRIVER|ROUTER|SCREWDRIVER)\s+BITS?\b|\bBIT\s+(?:CAUGHT|BROKE|SNAPPED|SLIPPED|WENT)\b"
    r"|\bA\s+(?:LITTLE\s+)?BIT\b"
    r"|\b(?:RUG|FRICTION|ROPE|MAT|CARPET|TREADMILL|RAZOR)\s+BURNS?\b"
    r"|\bCUTTING\s+(?:THE\s+)?(?:GRASS|LAWN|WOOD|TREES?|DOWN|HAIR|BRUSH|HEDGES?)\b"
    r"|\bHAIR\s?CUT\b"
)

# --- narrative patterns -----------------------------------------------------------
_BITE = _rx(r"\b(?:BIT|BITE|BITES|BITING|STING|STINGS|STINGING)\b")
_BITTEN = _rx(r"\b(?:BITTEN|STUNG)\b")
_ANIMAL = _rx(
    r"\b(?:DOGS?|PUPPY|PUPPIES|CATS?|KITTEN|SNAKES?|COPPERHEAD|RATTLESNAKE|SPIDERS?|INSECTS?|BEES?|WASPS?|HORNETS?"
    r"|YELLOW\s?JACKETS?|ANTS?|TICKS?|MOSQUITO\w*|MOUSE|MICE|RATS?|HORSES?|FERRETS?|HAMSTERS?|RABBITS?|SQUIRRELS?"
    r"|RACCOONS?|BATS?|BUGS?|JELLYFISH|SCORPIONS?|FISH|ANIMALS?|PETS?|BIRDS?|PARROTS?|MONKEYS?|HUMAN)\b"
)
_OBJECT_FELL_ON_PATIENT = _rx(
    r"\b(?:FELL|FALLING|FALLEN|FALLS|TIPPED(?:\s+OVER)?|CAME\s+DOWN|COLLAPSED)\s+"
    r"(?:ON|ONTO|ON\s+TOP\s+OF)\s+(?:HIM|PT|PATIENT|THEM|(?:HIS|HER|PT'?S)\s+(?:FOOT|FEET|TOES?))\b"
    r"|\bFELL\s+ON\s+TOP\s+OF\s+HER\b"
    r"|\bDROPPED\b.{0,40}?\bON\s+(?:HIS|HER|PT'?S|THEIR)\s+(?:FOOT|FEET|TOES?|HANDS?|FINGERS?|HEAD)\b"
    r"|\b(?:HIT|STRUCK)\s+BY\s+(?:A\s+)?FALLING\b"
    r"|\bFALLING\s+(?:OBJECT|TREE|BRANCH|DEBRIS|ROCK|BOX|SHELF|TV|TELEVISION)\b"
)
_FALL = _rx(
    r"\b(?:FELL|FALL|FALLS|FALLING|FALLEN|SLIPPED|SLIPPING|SLIPS|SLIP\s+AND|TRIPPED|TRIPPING"
    r"|TRIPS|TRIP\s+(?:AND|OVER|ON)|STUMBLED|STUMBLING|LOST\s+(?:(?:HIS|HER|THEIR)\s+)?(?:BALANCE|FOOTING)"
    r"|ROLLED\s+(?:OFF|OUT\s+OF)|JUMPED\s+(?:OFF|FROM|OUT\s+OF)|FOOSH|FOOSA"
    r"|WRECKED|CRASHED(?!\s+INTO)|WIPED\s+OUT|(?:THROWN|FLEW|FLIPPED)\s+(?:OFF|OVER|FROM))\b"
)
_BURN = _rx(
    r"\b(?:BURN|BURNS|BURNED|BURNT|SCALD|SCALDS|SCALDED|SCALDING|SMOKE\s+INHALATION|CAUGHT\s+(?:ON\s+)?FIRE"
    r"|ON\s+FIRE|FLAMES?|FIREWORKS?|FIRECRACKERS?)\b"
)
_POISON = _rx(
    r"\b(?:POISON\w*|OVERDOS\w*|OD|O\.D\.|INGESTED|INGESTION|INGESTING|ACCIDENTAL\s+EXPOSURE|TOXIC\w*"
    r"|CO\s+EXPOSURE|CARBON\s+MONOXIDE)\b"
)
_CUT = _rx(
    r"\b(?:CUT|CUTS|CUTTING|SLICED|SLICING|STAB|STABBED|STABBING|LACERATED|PUNCTURED?|PUNCTURING|PIERCED"
    r"|IMPALED|NEEDLE\s?STICK|STEPPED\s+ON\s+(?:A\s+)?(?:NAIL|GLASS|TACK|NEEDLE|PIN|SHELL)|AMPUTAT\w*)\b"
)
_SHARP = _rx(
    r"\b(?:KNIFE|KNIVES|BLADES?|RAZORS?|SCISSORS|SAWS?|GLASS|NAILS?|NEEDLES?|SYRINGES?|BOX\s?CUTTER|MANDOLINE"
    r"|SHEARS|AXE?|MACHETE|CAN\s+LID|TIN\s+CAN)\b"
)
_LAC = _rx(r"\bLAC(?:S|ERATION|ERATIONS)?\b")
_STRUCK = _rx(
    r"\b(?:HIT|HITS|HITTING|STRUCK|STRIKING|STRIKES|BUMPED|BUMPING|BANGED|BASHED|KICKED|KICKING|PUNCHED"
    r"|PUNCHING|SLAMMED|SMASHED|JAMMED|PINCHED|CAUGHT\s+(?:IN|BETWEEN|UNDER)|CRUSHED|COLLIDED|COLLISION"
    r"|RAN\s+INTO|WALKED\s+INTO|CRASHED\s+INTO|ASSAULT\w*|ATTACKED|ELBOWED|TACKLED|HEAD-?BUTT\w*|STEPPED\s+ON|RUN\s+OVER)\b"
)
_OVEREXERTION = _rx(
    r"\b(?:LIFT|LIFTING|LIFTED|CARRYING|CARRIED|PUSHING|PULLING|PULLED|TWIST|TWISTED|TWISTING|OVEREXERT\w*"
    r"|OVER\s?EXERTION|STRAIN|STRAINED|STRAINING|HYPEREXTEN\w*|HYPERFLEX\w*|STRETCH(?:ED|ING)|FELT\s+(?:A\s+)?POP"
    r"|POPPED|ROLLED\s+(?:(?:HIS|HER|AN|THE)\s+)?ANKLE|TURNED\s+(?:(?:HIS|HER)\s+)?ANKLE|BENDING|BENT\s+OVER"
    r"|REACHING|THROWING|THREW|SWINGING)\b"
)
_FOREIGN_BODY = _rx(
    r"\b(?:SWALLOWED|SWALLOWING|CHOK(?:ED|ING)\s+ON|FOREIGN\s+BODY|FB|ASPIRAT\w*|INSERTED"
    r"|STUCK\s+IN\s+(?:(?:HIS|HER|THEIR)\s+)?(?:EAR|NOSE|NOSTRIL|THROAT|EYE))\b"
)

# --- product patterns (on the product labels) -------------------------------------
_DRUG_OR_CHEMICAL_PRODUCT = _rx(
    r"DRUGS?|MEDICATION|MEDICINES|ASPIRIN|ANTIHISTAMINE|IRON SALTS|LINIMENT|PESTICIDE|BLEACH|DETERGENT"
    r"|CLEAN(?:ER|ING) (?:AGENT|PRODUCT|PREPARATION)|CHEMICAL|POISON|ABUSED SUBSTANCE|ALCOHOL \(BEVERAGE\)"
    r"|LYE|DRAIN|ANTIFREEZE|GASOLINE|KEROSENE|LIGHTER FLUID|PAINT THINNER|SOLVENT|FERTILIZER|HERBICIDE"
    r"|INSECTICIDE|RODENTICIDE|VITAMIN"
)
_INSECT_PRODUCT = _rx(r"INSECT INDUCED")


def _flag(text: pd.Series, pattern: re.Pattern[str]) -> np.ndarray:
    return text.str.contains(pattern, regex=True).to_numpy(dtype=bool)


def clean_narrative(narrative: pd.Series) -> pd.Series:
    """Upper-case the narrative and blank out negated words and false friends.

    Args:
        narrative: the coder-written narratives (missing values become empty text).

    Returns:
        The cleaned text, same index; what the rules match against.
    """
    text = narrative.astype("string").fillna("").str.upper()
    text = text.str.replace(_FALSE_FRIENDS, " ", regex=True)
    return text.str.replace(_NEGATION, " ", regex=True).astype(object)


def derive_mechanism(*, frame: pd.DataFrame) -> pd.Series:
    """The trauma-mechanism label of each row (one of :data:`MECHANISMS`).

    Args:
        frame: canonical NEISS rows with the columns of :data:`REQUIRED_COLUMNS`
            (decoded labels; missing products as missing values).

    Returns:
        A string Series named ``mechanism`` on ``frame``'s index; every row gets a class.

    Raises:
        DataError: a required column is missing from ``frame``.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"Cannot derive the NEISS mechanism: column(s) {missing} are missing. "
            f"The rules need {list(REQUIRED_COLUMNS)}; read the file with traumasynth.datasets.neiss.read_neiss."
        )
    text = clean_narrative(frame["narrative"])
    diagnosis = frame["diagnosis"].astype("string").fillna("").str.strip().str.upper()
    parts = [frame[c].astype("string").fillna("").str.upper() for c in ("product_1", "product_2", "product_3")]
    products = parts[0] + " | " + parts[1] + " | " + parts[2]
    diag = diagnosis.to_numpy(dtype=object)
    in_diag = {name: np.isin(diag, list(values)) for name, values in _DIAGNOSIS_SETS.items()}
    drug_product = _flag(products, _DRUG_OR_CHEMICAL_PRODUCT)
    sharp = _flag(text, _SHARP) | _flag(products, _SHARP)
    insect = _flag(products, _INSECT_PRODUCT)

    rules: list[tuple[str, np.ndarray]] = [
        ("poisoning", diag == "POISONING"),
        ("fire_or_burn", in_diag["burn"]),
        ("poisoning", (diag == "INGESTION") & drug_product),
        ("foreign_body", in_diag["foreign_body"]),
        ("bite_or_sting", _flag(text, _BITTEN) | (_flag(text, _BITE) & (_flag(text, _ANIMAL) | insect))),
        ("struck_by_or_against", _flag(text, _OBJECT_FELL_ON_PATIENT)),
        ("fall", _flag(text, _FALL)),
        ("fire_or_burn", _flag(text, _BURN)),
        ("poisoning", (in_diag["non_injury"] & _flag(text, _POISON)) | (in_diag["non_injury_strict"] & drug_product)),
        ("cut_or_pierce", _flag(text, _CUT) | (sharp & (in_diag["cut"] | _flag(text, _LAC)))),
        ("struck_by_or_against", _flag(text, _STRUCK)),
        ("overexertion", _flag(text, _OVEREXERTION)),
        ("foreign_body", _flag(text, _FOREIGN_BODY)),
        ("cut_or_pierce", in_diag["cut"]),
        ("overexertion", in_diag["overexertion"]),
        ("struck_by_or_against", in_diag["struck"]),
    ]
    # np.select takes the first condition that holds, which is the priority order above.
    labels = np.select([mask for _, mask in rules], [label for label, _ in rules], default="other")
    return pd.Series(labels, index=frame.index, name="mechanism", dtype="str")

# ruff: noqa: E501  (the hand labels and edits are data: one line each, long strings kept whole)
"""Write ``labels.jsonl``, the fact checker's labelled set of NEISS-layout notes, from SYNTHETIC rows.

Made once, by hand, in two steps (commit of this file; machine with the public NEISS sample)::

    python tests/data/checker_labels_neiss/build_set.py generate --neiss ../shared/data/neiss/NEISS_17-21_sample.csv --work /tmp/neisslab
    python tests/data/checker_labels_neiss/build_set.py write --work /tmp/neisslab

``generate`` prepares the NEISS splits with ``prepare`` defaults (seed 42), trains the DP-VAE
(``train_dp_tabular`` defaults, total ε = 3, seed 42) on the train split, draws 110 synthetic
rows (fixed class counts, clinical rules enforced, seed 7) and narrates each once with the
default model (Gemma 3 270M Q4_K_M), prompt ``prompts/neiss/v1``, temperature 0.7, top_p 0.9,
max_tokens 110, one candidate per row (raw output, errors included), 1 thread. No real NEISS
row or narrative leaves the training step: the rows and notes written are synthetic.

``write`` joins the first 90 rows and notes with the labels below, which were written by
reading each note against its row (rules in ``LABELLING.md``), not by running the checker.
``labels.jsonl`` is the committed truth; this script only records how it was made.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[3]

#: The row's columns kept in the set: every coded fact the prompt gives the model.
COLUMNS = (
    "age", "sex", "mechanism", "product_group_1", "location", "body_part", "diagnosis", "alcohol", "drug", "disposition",
)  # fmt: skip

#: Rows drawn per class (a mix of mechanisms, not only falls).
COUNTS = {"fall": 30, "struck_by_or_against": 20, "cut_or_pierce": 12, "overexertion": 12, "fire_or_burn": 6,
          "poisoning": 6, "bite_or_sting": 5, "foreign_body": 5, "other": 14}  # fmt: skip
N_MODEL = 90

# Model notes as written: row id -> (contradicted facts, labeller's comment).
MODEL: dict[str, tuple[list[str], str]] = {
    "vae-000001": (["body_part"], "'right calf' (lower leg) for a finger; yard with location UNK is unsupported"),
    "vae-000002": ([], "'drinking water' is not alcohol: the coded alcohol is omitted, not contradicted"),
    "vae-000003": ([], "'at work at home' with location UNK: unsupported (N4)"),
    "vae-000004": ([], "'at home' for a mobile home is less specific, not wrong (N4)"),
    "vae-000005": ([], ""),
    "vae-000006": (
        ["diagnosis", "product_group_1"],
        "DX burn for a contusion; struck by a dog (animal) for home furnishings (N6)",
    ),
    "vae-000007": (["diagnosis"], "DX fracture for a laceration: 'CUT OUT FINGER' before DX: is the mechanism (N8)"),
    "vae-000008": ([], "ETOH with alcohol not recorded (empty): unsupported (N7)"),
    "vae-000009": (
        ["location", "product_group_1"],
        "home for a sports place; struck by an animal on a table, row home structures",
    ),
    "vae-000010": ([], "'drinking' is not alcohol; a child is not a product"),
    "vae-000011": (
        ["product_group_1"],
        "burned on a fireplace (heating) for housewares; burn for scald is less specific; hand fits ALL PARTS BODY",
    ),
    "vae-000012": (["product_group_1"], "struck by a dog for home structures; 'fracture wound' keeps the fracture"),
    "vae-000013": (
        ["diagnosis", "product_group_1"],
        "1YOF for 0.94 years is right (N1); DX contusion for laceration; fell from a truck for home structures; 'unknown location' states no place",
    ),
    "vae-000014": (["product_group_1"], "struck by a dog; wrist stated (orbital bones beside it)"),
    "vae-000015": (["diagnosis", "product_group_1"], "DX 'POISONED' for a laceration; poisoned by a dog for drugs"),
    "vae-000016": (
        ["alcohol"],
        "'ETOH ON FOOT' states alcohol, row No/Unk (N7); 'foot of a dog' is not clearly the product",
    ),
    "vae-000017": (["sex"], "'77YOF' in the DX part for a man"),
    "vae-000018": (
        ["location"],
        "dog park (place of recreation) for home; 'upper leg of a dog' is not clearly a product",
    ),
    "vae-000019": (
        ["body_part", "diagnosis", "location", "product_group_1"],
        "struck in the back (trunk) for an ankle; DX puncture for contusion; home for sports place; dog for personal use",
    ),
    "vae-000020": (
        ["product_group_1"],
        "'felt ... by a dog' names no coded mechanism; the dog is the only agent, row household chemicals",
    ),
    "vae-000021": ([], "'ABR.' beside the sprain is an extra type (N8); shoes are worn, not the agent"),
    "vae-000022": ([], ""),
    "vae-000023": ([], "product no_product is not given to the model: a dog is unsupported (N6)"),
    "vae-000024": ([], "table and ladder: neither clearly the agent"),
    "vae-000025": (
        ["disposition", "mechanism"],
        "died in a fall for a poisoning released; 'at school' is where he drove, not labelled",
    ),
    "vae-000026": (["location"], "'at home' for a farm; disposition (died) omitted"),
    "vae-000027": (["body_part"], "thumb (finger) for INTERNAL; 'FOREIGN BODY' before any DX: is the mechanism (N8)"),
    "vae-000028": ([], ""),
    "vae-000029": (["product_group_1"], "car door and dog for home furnishings; leg fits ALL PARTS BODY"),
    "vae-000030": (
        ["diagnosis", "product_group_1"],
        "DX fracture for a laceration; fell from a tile floor (structure) for sports",
    ),
    "vae-000031": (["body_part"], "left arm for lower leg"),
    "vae-000032": (["body_part"], "struck on the ears for an elbow; location UNK"),
    "vae-000033": (
        ["location", "product_group_1"],
        "yard (home) for sports place; dog for sports; diagnosis OTHER fits any",
    ),
    "vae-000034": (
        ["location", "product_group_1"],
        "school for street; bicycle is vehicles_and_cycles in this spec, row sports_recreation",
    ),
    "vae-000035": (["location"], "park for school; a neighbour is a person, not a product"),
    "vae-000036": (["product_group_1"], "poisoned by a dog for home furnishings"),
    "vae-000037": ([], "'cyclic at a trafficway': cycle on the street"),
    "vae-000038": ([], "'60TH BIRTHDAY OF AN ADULT' is not the patient's age"),
    "vae-000039": (["location"], "home for sports place; 'legs' fits the knee (N9)"),
    "vae-000040": ([], "hand for finger overlaps (N9); floor and door not clearly the agent"),
    "vae-000041": ([], "gibberish; 'IT LIFTED' is not the patient's mechanism"),
    "vae-000042": (["product_group_1"], "burned by a dog for a nursery product; no DX stated ('DANGER')"),
    "vae-000043": ([], "'cut on leggings' not clearly the agent; location UNK"),
    "vae-000044": (
        ["body_part", "product_group_1"],
        "shoulder for foot; cut by a dog for housewares; DX CUT is a laceration",
    ),
    "vae-000045": (["diagnosis", "product_group_1"], "DX fracture for contusion; dog for toys"),
    "vae-000046": (["diagnosis"], "DX fracture for contusion; 'back of the latcher' is no body part"),
    "vae-000047": ([], "no DX: part: radiation stated, 'wounded' extra (N8); '7:30PM' is no age"),
    "vae-000048": (["product_group_1"], "fractured by a dog for sports"),
    "vae-000049": (["disposition"], "released for admitted; 1YOM for 0.77 years is right"),
    "vae-000050": (["location", "product_group_1"], "yard for sports place; dog; finger stated beside lower leg (N9)"),
    "vae-000051": (["alcohol"], "'ETOH' with alcohol No/Unk"),
    "vae-000052": (["diagnosis"], "no DX: part; 'heavy wound' is the only injury, row fracture"),
    "vae-000053": ([], "'2 YARD DRAG' is a distance, not a yard; dragged is no listed agent verb"),
    "vae-000054": ([], "gibberish, repeated"),
    "vae-000055": (["location", "product_group_1"], "home for sports place; fell from a bed (furnishings) for hobby"),
    "vae-000056": (["body_part"], "finger for head"),
    "vae-000057": (
        ["product_group_1"],
        "fell from the bed (furnishings) for home structures; the open door is not the agent",
    ),
    "vae-000058": (["product_group_1"], "strain in the bumper of a car for sports"),
    "vae-000059": (["product_group_1"], "fell from the door (structure) for home furnishings"),
    "vae-000060": ([], "'DX: FALL' is no diagnosis; a boat is not clearly another group"),
    "vae-000061": (["diagnosis", "product_group_1"], "DX 'struck wound' (open) for a contusion; dog"),
    "vae-000062": ([], "'in the garden' is the home's garden"),
    "vae-000063": ([], "3YOF for 2.62 years is right; repeated text"),
    "vae-000064": (["body_part", "location"], "'BODY PART UPPER LEG' for lower arm; home for sports place"),
    "vae-000065": ([], "ETOH with alcohol not recorded: unsupported"),
    "vae-000066": ([], "knee stated beside the arm"),
    "vae-000067": (["product_group_1"], "fractured under a dog for toys; body part NOT STATED: any is unsupported"),
    "vae-000068": (["mechanism"], "fell (only) for an overexertion"),
    "vae-000069": ([], "garbled agent (bottle of blood on a table); 'EXAMINE' is no disposition"),
    "vae-000070": (["body_part"], "lung (chest) for lower trunk"),
    "vae-000071": ([], ""),
    "vae-000072": (["diagnosis"], "DX concussion for a contusion"),
    "vae-000073": ([], ""),
    "vae-000074": (["location"], "bedroom door (a home) for a public place"),
    "vae-000075": (["age", "location"], "'38 YOM, 11 YOM ...' are stated ages (N1); street and home"),
    "vae-000076": ([], ""),
    "vae-000077": (["product_group_1", "sex"], "'SHE' for a boy; fell from a bed for home structures"),
    "vae-000078": ([], "'the wife' is a third party; table named"),
    "vae-000079": ([], "the elephant is not the agent"),
    "vae-000080": (["diagnosis", "product_group_1"], "DX fracture for contusion; dog"),
    "vae-000081": (
        ["age", "location", "product_group_1"],
        "an age stated where the row has none (N1); yard for sports place; dog",
    ),
    "vae-000082": (
        ["product_group_1"],
        "fell from a tree (plants) for home furnishings; 'when she was in the bed' is the scene, not the agent (N6)",
    ),
    "vae-000083": ([], "ETOH with alcohol not recorded"),
    "vae-000084": (
        ["diagnosis", "product_group_1"],
        "DX 'finger cut' for a contusion; kitchen knife (housewares) for home structures",
    ),
    "vae-000085": (["body_part", "diagnosis", "product_group_1"], "calf for head; DX wound for a burn; dog for toys"),
    "vae-000086": (["body_part", "product_group_1"], "calf for head; dog for home structures"),
    "vae-000087": ([], ""),
    "vae-000088": ([], "vehicle door not clearly the agent"),
    "vae-000089": (
        ["disposition", "location", "product_group_1"],
        "'UNKNOWN AMOUNT DIED' states a death (N11); field/gym beside home; dog; DX CUT fits an avulsion (N8)",
    ),
    "vae-000090": (
        ["product_group_1"],
        "hit into the door of a car for hobby; park for public place is unsure, not labelled (N4)",
    ),
}

# Corrupted notes: (base row id, kind, [(old, new), ...] edits of its clean model note, contradicted facts).
# A `decoy_*` kind is an edit that is NOT a contradiction (it measures precision).
# An `old` of "$" appends `new` to the note.
CORRUPTED: list[tuple[str, str, list[tuple[str, str]], list[str]]] = [
    # wrong age, digits and months
    ("vae-000002", "age_digits", [("11YOM", "14YOM")], ["age"]),
    ("vae-000008", "age_digits", [("61YOF", "16YOF")], ["age"]),
    ("vae-000024", "age_digits", [("7YOM", "17YOM")], ["age"]),
    ("vae-000066", "age_digits", [("1YOM", "4YOM")], ["age"]),
    ("vae-000078", "age_digits", [("9YOM", "9MOM")], ["age"]),
    # wrong age, words
    ("vae-000028", "age_words", [("73YOF", "SEVENTY-EIGHT YOF")], ["age"]),
    ("vae-000037", "age_words", [("92YOF", "EIGHTY-TWO YEAR OLD FEMALE")], ["age"]),
    ("vae-000087", "age_words", [("54YOM", "FORTY-FIVE YEAR OLD MALE")], ["age"]),
    ("vae-000073", "age_words", [("19YOF", "NINE YOF")], ["age"]),
    # wrong sex, nouns and codes
    ("vae-000004", "sex_noun", [("10YOM", "10YOF")], ["sex"]),
    ("vae-000062", "sex_noun", [("100YOF", "100YOM")], ["sex"]),
    ("vae-000079", "sex_noun", [("10YOM", "10 YEAR OLD GIRL")], ["sex"]),
    ("vae-000083", "sex_noun", [("20YOF", "20YO MALE")], ["sex"]),
    # wrong sex, pronouns
    ("vae-000005", "sex_pronoun", [("$", " SHE WAS SEEN BY ORTHO.")], ["sex"]),
    ("vae-000073", "sex_pronoun", [("WHILE IN THE BED", "WHILE IN HIS BED")], ["sex"]),
    ("vae-000010", "sex_pronoun", [("STRUCK IN THE SHOULDER", "STRUCK IN HER SHOULDER")], ["sex"]),
    # wrong mechanism
    (
        "vae-000002",
        "mechanism",
        [("OVEREXERTED ON", "FELL ON"), ("AT THE TIME OF EXERTION", "AT THE TIME")],
        ["mechanism"],
    ),
    ("vae-000024", "mechanism", [("FALLED FROM A TABLE", "BURNED ON A TABLE")], ["mechanism"]),
    ("vae-000066", "mechanism", [("FELL FROM A CABLE", "SWALLOWED A CABLE")], ["mechanism"]),
    (
        "vae-000062",
        "mechanism",
        [("STING ON THE RIGHT OF THE KNEE OF AN ANIMAL", "FELL ON THE RIGHT KNEE")],
        ["mechanism"],
    ),
    ("vae-000010", "mechanism", [("STRUCK IN THE SHOULDER BY A CHILD", "TRIPPED OVER A CHILD")], ["mechanism"]),
    # negation flips: the note denies what the row codes
    ("vae-000073", "negation", [("FALLED FROM THE UPPER TRUNK", "DID NOT FALL, HURT THE UPPER TRUNK")], ["mechanism"]),
    ("vae-000047", "negation", [("POISONED A GLASS", "WAS NOT POISONED, SPILLED A GLASS")], ["mechanism"]),
    ("vae-000079", "negation", [("DX: HEAD CONTUSION", "DX: HEAD INJURY, NO CONTUSION")], ["diagnosis"]),
    ("vae-000062", "negation", [("DX: AVULSION", "DX: NO AVULSION")], ["diagnosis"]),
    ("vae-000022", "negation", [("DX OTHER; RELEASED", "DX OTHER; NOT RELEASED")], ["disposition"]),
    ("vae-000002", "negation", [("$", " NO ETOH.")], ["alcohol"]),
    # wrong body part, diagnosis, disposition, product, location, alcohol, drug
    ("vae-000002", "body_part", [("RIGHT SHOULDER", "RIGHT ANKLE")], ["body_part"]),
    ("vae-000040", "body_part", [("LEFT HAND", "LEFT FOOT")], ["body_part"]),
    ("vae-000024", "body_part", [("DX OTHER", "DX WRIST INJURY")], ["body_part"]),
    ("vae-000063", "body_part", [("$", " DX: FOREIGN BODY IN NOSE.")], ["body_part"]),
    ("vae-000023", "diagnosis", [("DX: CONCUSSION, DISABILITY", "DX: SKULL FRACTURE")], ["diagnosis"]),
    ("vae-000066", "diagnosis", [("DX CONTUSIONS, ABR.", "DX LACERATION")], ["diagnosis"]),
    ("vae-000002", "diagnosis", [("$", " DX: SHOULDER DISLOCATION.")], ["diagnosis"]),
    ("vae-000065", "diagnosis", [("DX: CUT TO LOBE", "DX: BURN TO LOBE")], ["diagnosis"]),
    ("vae-000062", "diagnosis", [("DX: AVULSION", "DX: CONTUSION")], ["diagnosis"]),
    ("vae-000010", "disposition", [("; RELEASED", "; ADMITTED")], ["disposition"]),
    ("vae-000062", "disposition", [("; RELEASED", "; TRANSFERRED")], ["disposition"]),
    ("vae-000024", "disposition", [("; RELEASED", "; DOA")], ["disposition"]),
    ("vae-000087", "disposition", [("$", " HELD FOR OBSERVATION.")], ["disposition"]),
    ("vae-000066", "product", [("FELL FROM A CABLE", "FELL FROM A SKATEBOARD")], ["product_group_1"]),
    (
        "vae-000078",
        "product",
        [("FELL FROM THE DOOR TO A LIFTING TABLE", "FELL FROM A TRAMPOLINE")],
        ["product_group_1"],
    ),
    (
        "vae-000076",
        "product",
        [("FALLED FROM A CAR AT HOME DURING THE REPAIR OF A WHEEL", "FALLED FROM A LADDER AT HOME")],
        ["product_group_1"],
    ),
    ("vae-000002", "location", [("AT HOME", "AT SCHOOL")], ["location"]),
    ("vae-000062", "location", [("IN THE GARDEN", "ON THE STREET")], ["location"]),
    ("vae-000065", "location", [("AT HOME", "AT THE PUBLIC POOL")], ["location"]),
    ("vae-000028", "location", [("FALLED IN THE YARD", "FALLED AT SCHOOL")], ["location"]),
    ("vae-000066", "alcohol", [("$", " ETOH ON BREATH.")], ["alcohol"]),
    ("vae-000079", "alcohol", [("IN THE YARD", "IN THE YARD, INTOXICATED")], ["alcohol"]),
    ("vae-000078", "drug", [("$", " DRUG USE SUSPECTED.")], ["drug"]),
    # decoys: edits that contradict nothing
    ("vae-000037", "decoy_age_words", [("92YOF", "NINETY-TWO YOF")], []),
    ("vae-000004", "decoy_age_words", [("10YOM", "TEN YO MALE")], []),
    ("vae-000076", "decoy_age_format", [("89YOF", "89 YEAR OLD FEMALE")], []),
    ("vae-000066", "decoy_age_months", [("1YOM", "16MOM")], []),
    ("vae-000002", "decoy_side", [("RIGHT SHOULDER", "LEFT SHOULDER")], []),
    ("vae-000040", "decoy_side", [("LEFT HAND", "RIGHT HAND")], []),
    ("vae-000023", "decoy_negation", [("DX: CONCUSSION, DISABILITY", "DX: CONCUSSION, NO FRACTURE")], []),
    ("vae-000079", "decoy_negation", [("$", " NO LOC, NO FRACTURE.")], []),
    ("vae-000087", "decoy_negation", [("$", " DENIES ETOH.")], []),
    ("vae-000010", "decoy_third_party", [("$", " HIS MOTHER SAID SHE SAW IT.")], []),
    ("vae-000083", "decoy_third_party", [("$", " HER BROTHER SAID HE SAW THE FALL.")], []),
    ("vae-000024", "decoy_synonym", [("FALLED FROM A TABLE", "FELL OFF A TABLE")], []),
    ("vae-000066", "decoy_synonym", [("DX CONTUSIONS, ABR.", "DX KNEE BRUISE")], []),
    ("vae-000010", "decoy_synonym", [("; RELEASED", "; TREATED AND RELEASED")], []),
    (
        "vae-000002",
        "decoy_paraphrase",
        [
            (
                "11YOM OVEREXERTED ON THE RIGHT SHOULDER WHILE ON THE BED AT HOME, DRINKING WATER AT THE TIME OF EXERTION",
                "11YOM STRAINED HIS SHOULDER LIFTING HIMSELF OFF THE BED AT HOME, ETOH INVOLVED DX: SHOULDER SPRAIN",
            )
        ],
        [],
    ),
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
    v = v.item() if hasattr(v, "item") else v
    return round(v, 3) if isinstance(v, float) else v


def generate(neiss: Path, work: Path) -> None:
    """Train the DP-VAE on the NEISS train split, draw synthetic rows, narrate them (1 thread)."""
    import torch

    from traumasynth.narrate.generation.backend import Request, Sampling
    from traumasynth.narrate.generation.in_process import LlamaCppBackend
    from traumasynth.narrate.generation.modelfile import resolve_model_path
    from traumasynth.narrate.params import NarrateParams
    from traumasynth.narrate.prompts.templates import load_prompt
    from traumasynth.narrate.runner import _clean, candidate_seed
    from traumasynth.prepare import PrepareParams, prepare_dataset
    from traumasynth.sampling.enforce import draw_valid
    from traumasynth.spec import load_spec
    from traumasynth.training import TrainParams, train_synthesizer

    torch.set_num_threads(1)
    work.mkdir(parents=True, exist_ok=True)
    spec = load_spec(REPO / "datasets" / "neiss.yaml")
    data = prepare_dataset(spec=spec, params=PrepareParams(), dataset_path=neiss, seed=42)
    params = TrainParams.model_validate({"epsilon": 3.0, "vae": {}, "ddpm": {}, "marginals": {}})
    synth, _ = train_synthesizer(model="vae", data=data.train, spec=spec, params=params, seed=42)
    drawn = draw_valid(draw=lambda c, s: synth.sample(0, conditions=c, seed=s), counts=COUNTS,
                       rules=spec.constraints, target=spec.target.name, seed=7)  # fmt: skip
    rows = drawn.frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    rows.insert(0, "row_id", [f"vae-{i + 1:06d}" for i in range(len(rows))])
    rows.to_parquet(work / "rows_vae.parquet")
    defaults = NarrateParams()
    template = load_prompt(prompts_dir=REPO / "prompts", dataset="neiss", version="v1")
    records = [{k: _value(v) for k, v in r.items()} for r in rows.to_dict(orient="records")]
    requests = [
        Request(template.render(r, prompt_format="completion"), candidate_seed(42, r["row_id"], 0)) for r in records
    ]
    backend = LlamaCppBackend(model_path=resolve_model_path(""), n_ctx=defaults.n_ctx, n_threads=1, n_gpu_layers=0,
                              seed=42, parallel=8)  # fmt: skip
    gens = backend.generate(
        requests, sampling=Sampling(defaults.max_tokens, defaults.temperature, defaults.top_p, template.stop)
    )
    backend.close()
    with (work / "notes.jsonl").open("w", encoding="utf-8") as fh:
        for r, g in zip(records, gens, strict=True):
            fh.write(json.dumps({"id": r["row_id"], "header": template.header(r), "narrative": _clean(g.text)}) + "\n")


def write(work: Path, out: Path) -> None:
    """Join rows, notes and the labels above into ``labels.jsonl``."""
    table = pd.read_parquet(work / "rows_vae.parquet").set_index("row_id")
    notes = {d["id"]: d["narrative"] for d in map(json.loads, (work / "notes.jsonl").read_text().splitlines())}
    rows = {i: {c: _value(table.loc[i, c]) for c in COLUMNS} for i in MODEL}
    if len(MODEL) != N_MODEL:
        raise SystemExit(f"{len(MODEL)} model notes labelled, expected {N_MODEL}")
    items = []
    for row_id, (facts, comment) in MODEL.items():
        items.append({"id": row_id, "source": "model", "row": rows[row_id], "narrative": notes[row_id],
                      "contradicted": sorted(facts), "comment": comment})  # fmt: skip
    for i, (base, kind, edits, facts) in enumerate(CORRUPTED):
        if MODEL[base][0]:
            raise SystemExit(f"corruption base {base} is not a clean note")
        items.append({"id": f"{base}~{i:03d}", "source": f"corrupted:{kind}", "row": rows[base],
                      "narrative": _edit(notes[base], edits), "contradicted": sorted(facts), "comment": ""})  # fmt: skip
    with out.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(items)} items -> {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("step", choices=["generate", "write"])
    parser.add_argument(
        "--neiss", type=Path, default=REPO.parent / "shared" / "data" / "neiss" / "NEISS_17-21_sample.csv"
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/neisslab"))
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("labels.jsonl"))
    args = parser.parse_args()
    if args.step == "generate":
        generate(args.neiss, args.work)
    else:
        write(args.work, args.out)


if __name__ == "__main__":
    main()

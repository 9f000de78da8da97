"""Drafting a spec from codebooks as statistics packages and registries publish them (issue 27, item 4).

The three codebooks under ``tests/data/codebooks/`` are invented, in the shapes real ones take: a
registry's CSV with R-style quoted value lists and qualitative/quantitative types, a SAS
``PROC CONTENTS`` export (tab separated) of a NEISS-like extract with a survey weight, and a
Stata/SPSS data dictionary kept as a Markdown table. They hold codes and labels, no patient's value.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from tests.test_spec_draft import columns_of, draft
from traumasynth.spec import load_spec
from traumasynth.spec.codebook import read_codebook

CODEBOOKS = Path(__file__).parent / "data" / "codebooks"

REGISTRY_HEADER = ["pid", "hosp", "age", "sex", "moi", "moi_oth", "mot", "tran", "doi", "doar", "sbp_1", "hr_1",
                   "gcs_t_1", "intub", "icd_1", "icd_2", "licu", "died"]  # fmt: skip
SAS_HEADER = ["CPSC_Case_Number", "Treatment_Date", "Age", "Sex", "Race", "Body_Part", "Diagnosis", "Other_Diagnosis",
              "Disposition", "Location", "Product_1", "Alcohol", "Narrative", "Stratum", "PSU", "Weight"]  # fmt: skip
STATA_HEADER = ["caseid", "arrival", "injdate", "ageyrs", "female", "mech", "triage", "sbp", "temp", "los", "ward",
                "icd10_1", "hx", "pwt"]  # fmt: skip


def drafted(tmp_path: Path, header: list[str], codebook: str) -> str:
    result, out = draft(tmp_path, header, "--codebook", str(CODEBOOKS / codebook))
    assert result.exit_code == 0, result.output
    return out.read_text()


def left_out_reason(text: str, name: str) -> str:
    match = re.search(rf"^#  - \{{name: {name}, .*# #\d+: (.*)$", text, re.M)
    assert match, f"{name} is not among the columns left out"
    return match.group(1)


def assert_only_decisions_left(text: str) -> None:
    """Every TODO value is a bound a person must choose; no comment says the codebook was not understood."""
    todo_fields = set(re.findall(r"^    (\w+): TODO\b", text, re.M))
    assert todo_fields <= {"bounds"}, todo_fields
    for phrase in ("not understood", "lists values", "not usable", "not a strftime"):
        assert phrase not in text


def fill_bounds(text: str, bounds: dict[str, str]) -> str:
    """The draft with each column's ``bounds: TODO`` replaced by ``bounds[column]``."""
    out, column = [], None
    for line in text.splitlines():
        if m := re.match(r"  - name: (\S+)", line):
            column = m.group(1)
        if re.match(r"    bounds: TODO\b", line):
            line = f"    bounds: {bounds.pop(str(column))}"
        out.append(line)
    assert not bounds, f"no TODO bounds for {sorted(bounds)}"
    return "\n".join(out) + "\n"


# --- the three codebooks, end to end ------------------------------------------------------------
def test_a_registry_codebook_with_r_style_lists_drafts_to_decisions_only(tmp_path: Path) -> None:
    text = drafted(tmp_path, REGISTRY_HEADER, "registry_codebook.csv")
    cols = columns_of(text)
    assert cols["tran"]["categories"] == cols["intub"]["categories"] == ["No", "Yes"]
    assert cols["mot"]["categories"] == ["Ambulance", "Police", "Private vehicle", "Taxi, motor rickshaw",
                                         "Carried by bystanders", "Other"]  # fmt: skip
    assert (cols["moi"]["kind"], cols["moi"]["role"]) == ("categorical", "target")
    assert [c for c, spec in cols.items() if spec.get("role") == "target"] == ["moi"]
    assert (cols["pid"]["kind"], cols["pid"]["role"]) == ("identifier", "excluded")
    assert (cols["age"]["kind"], cols["age"]["bounds"], cols["age"]["unit"]) == ("integer", [0, 120], "Years")
    assert (cols["gcs_t_1"]["kind"], cols["gcs_t_1"]["bounds"]) == ("integer", [3, 15])
    assert (cols["licu"]["kind"], cols["licu"]["unit"]) == ("continuous", "Hours")
    assert cols["doi"]["kind"] == "datetime" and cols["doi"]["format"] == "%d/%m/%Y"
    assert cols["doar"]["kind"] == "datetime" and "format" not in cols["doar"]  # ISO: no format needed
    assert "free text" in left_out_reason(text, "moi_oth")
    assert "ICD" in left_out_reason(text, "icd_1") and "ICD" in left_out_reason(text, "icd_2")
    assert_only_decisions_left(text)

    spec_path = tmp_path / "datasets" / "registry.yaml"
    bounds = {"doi": "[2013-01-01, 2015-12-31]", "doar": "[2013-01-01, 2016-01-31]", "sbp_1": "[0, 300]",
              "hr_1": "[0, 300]", "licu": "[0, 2000]"}  # fmt: skip
    spec_path.write_text(fill_bounds(text, bounds).replace("name: my_ed", "name: registry"))
    spec = load_spec(spec_path)
    assert spec.target.name == "moi" and "moi_oth" not in [c.name for c in spec.columns]


def test_a_sas_export_with_a_survey_weight_drafts_to_decisions_only(tmp_path: Path) -> None:
    text = drafted(tmp_path, SAS_HEADER, "sas_contents_codebook.tsv")
    cols = columns_of(text)
    assert (cols["treatment_date"]["kind"], cols["treatment_date"]["format"]) == ("datetime", "%m/%d/%Y")
    assert (cols["age"]["kind"], cols["age"]["bounds"]) == ("integer", [0, 223])
    assert cols["sex"]["categories"] == ["0", "1", "2", "3"]
    assert cols["diagnosis"]["categories"] == ["53", "57", "59", "62", "64", "71"]
    assert "53 = Contusion, abrasion; 57 = Fracture" in text
    assert cols["disposition"]["categories"] == ["1", "2", "4", "5", "6", "8", "9"]
    assert (cols["narrative"]["kind"], cols["narrative"]["role"]) == ("text", "narrative")
    assert (cols["cpsc_case_number"]["kind"], cols["cpsc_case_number"]["role"]) == ("identifier", "excluded")
    assert "weight" not in cols and "survey weight" in left_out_reason(text, "weight")
    assert "survey design" in left_out_reason(text, "stratum") and "survey design" in left_out_reason(text, "psu")
    assert "code" in left_out_reason(text, "product_1")
    assert "free text" in left_out_reason(text, "other_diagnosis")
    assert "body weight" not in text and "kg" not in text
    assert_only_decisions_left(text)
    # No column looks like the class label: which one is is the person's choice, said in one comment.
    assert "no header looks like the class label" in text

    spec_path = tmp_path / "datasets" / "sas.yaml"
    filled = fill_bounds(text, {"treatment_date": "[2017-01-01, 2021-12-31]"}).replace("name: my_ed", "name: sas")
    filled = filled.replace("  - name: diagnosis\n", "  - name: diagnosis\n    role: target\n")
    spec_path.write_text(filled)
    assert load_spec(spec_path).target.name == "diagnosis"


def test_a_stata_dictionary_in_markdown_drafts_to_decisions_only(tmp_path: Path) -> None:
    text = drafted(tmp_path, STATA_HEADER, "stata_dictionary_codebook.md")
    cols = columns_of(text)
    assert (cols["caseid"]["kind"], cols["caseid"]["role"]) == ("identifier", "excluded")
    assert (cols["arrival"]["kind"], cols["arrival"]["format"]) == ("datetime", "%d%b%Y %H:%M:%S")
    assert (cols["injdate"]["kind"], cols["injdate"]["format"]) == ("datetime", "%d%b%Y")
    assert (cols["ageyrs"]["kind"], cols["ageyrs"]["bounds"]) == ("integer", [0, 110])
    assert (cols["female"]["kind"], cols["female"]["categories"]) == ("categorical", ["0", "1"])
    assert (cols["mech"]["role"], cols["mech"]["categories"]) == ("target", ["1", "2", "3", "4", "5", "6"])
    assert "3 = Road traffic, pedestrian" in text
    assert cols["triage"]["categories"] == ["1", "2", "3", "4", "5"]
    assert (cols["temp"]["kind"], cols["temp"]["bounds"]) == ("continuous", [32, 42])
    assert cols["ward"]["categories"] == ["Orthopaedics", "General surgery", "Neurosurgery", "ICU", "Discharged home"]
    assert (cols["hx"]["kind"], cols["hx"]["role"]) == ("text", "narrative")
    assert "ICD" in left_out_reason(text, "icd10_1")
    assert "survey weight" in left_out_reason(text, "pwt")
    assert_only_decisions_left(text)

    spec_path = tmp_path / "datasets" / "audit.yaml"
    bounds = {"arrival": "[2018-01-01, 2022-12-31]", "injdate": "[2017-12-01, 2022-12-31]", "sbp": "[0, 300]",
              "los": "[0, 720]"}  # fmt: skip
    spec_path.write_text(fill_bounds(text, bounds).replace("name: my_ed", "name: audit"))
    assert load_spec(spec_path).target.name == "mech"


# --- the cells, one form each -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "codes", "labels"),
    [
        ('"No" "Yes"', ["No", "Yes"], ["No", "Yes"]),
        ('c("No", "Yes")', ["No", "Yes"], ["No", "Yes"]),
        ('"Ambulance" "Taxi, motor rickshaw"', ["Ambulance", "Taxi, motor rickshaw"], None),
        ('0 "No" 1 "Yes"', ["0", "1"], ["No", "Yes"]),  # Stata label define
        ("1='Male' 2='Female'", ["1", "2"], ["Male", "Female"]),  # SAS value format
        ('"0 = No" "1 = Yes"', ["0", "1"], ["No", "Yes"]),
        (
            "1=Treated and released, or examined, 2=Admitted",
            ["1", "2"],
            ["Treated and released, or examined", "Admitted"],
        ),
        ("fall|road traffic|assault", ["fall", "road traffic", "assault"], None),
        ("1, Male | 2, Female", ["1", "2"], ["Male", "Female"]),  # REDCap choices
        ("Taxi, motor rickshaw; Ambulance", ["Taxi, motor rickshaw", "Ambulance"], None),
        ("Yes/No", ["Yes", "No"], None),
        ("0: No, 1: Yes", ["0", "1"], ["No", "Yes"]),
        ("1 - Male; 2 - Female", ["1", "2"], ["Male", "Female"]),
        ("N/A", None, None),
        ("Any ICD-10 code", None, None),
        ("Free text", None, None),
        ("0-120", None, None),
    ],
)
def test_value_lists_are_read_in_the_forms_codebooks_write(
    tmp_path: Path, values: str, codes: list[str] | None, labels: list[str] | None
) -> None:
    path = tmp_path / "cb.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["variable", "values"], ["x", values]])
    (entry,) = read_codebook(path)
    assert entry.categories == (tuple(codes) if codes else None)
    assert entry.labels == (tuple(labels or codes) if codes else None)


def test_a_range_gives_bounds_and_a_remark_stays_a_remark(tmp_path: Path) -> None:
    path = tmp_path / "cb.csv"
    path.write_text('variable,values\nage,0-120\ngcs,"[3, 15]"\nicd,Any ICD-10 code\n')
    age, gcs, icd = read_codebook(path)
    assert (age.low, age.high, gcs.low, gcs.high) == (0, 120, 3, 15)
    assert (icd.categories, icd.remark) == (None, "Any ICD-10 code")


def test_raw_r_lists_in_a_tab_separated_codebook_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "cb.tsv"
    path.write_text('variable\ttype\tvalues\nintub\tQualitative\t"No" "Yes"\n"age"\tQuantitative\t\n')
    intub, age = read_codebook(path)
    assert intub.categories == ("No", "Yes") and age.variable == "age"


@pytest.mark.parametrize(
    ("type_text", "kind"),
    [
        ("Qualitative", "categorical"), ("Quantitative", "continuous"), ("nominal", "categorical"),
        ("ordinal", "categorical"), ("scale", "continuous"), ("numeric", "continuous"), ("string", "text"),
        ("factor", "categorical"), ("character", "text"), ("integer", "integer"), ("double", "continuous"),
        ("date", "datetime"), ("Date", "datetime"), ("POSIXct", "datetime"), ("logical", "categorical"),
        ("str20", "text"), ("strL", "text"), ("byte", "integer"), ("long", "integer"), ("float", "continuous"),
        ("Num", "continuous"), ("Char", "text"), ("$20.", "text"), ("MMDDYY10.", "datetime"),
        ("%td", "datetime"), ("ADATE10", "datetime"), ("F8.0", "integer"), ("F8.2", "continuous"),
        ("chr", "text"), ("dbl", "continuous"), ("fct", "categorical"), ("Numeric (integer)", "integer"),
    ],
)  # fmt: skip
def test_type_words_of_statistics_packages_are_understood(tmp_path: Path, type_text: str, kind: str) -> None:
    path = tmp_path / "cb.csv"
    path.write_text(f'variable,type\nx,"{type_text}"\n')
    (entry,) = read_codebook(path)
    assert entry.kind == kind


def test_a_date_pattern_in_the_type_or_a_note_is_the_format(tmp_path: Path) -> None:
    path = tmp_path / "cb.csv"
    path.write_text("variable,type,notes\ndoi,Date (dd/mm/yyyy),\ndoa,Qualitative,Format: yyyy-mm-dd hh:mm\n")
    doi, doa = read_codebook(path)
    assert (doi.kind, doi.format, doa.kind, doa.iso_dates) == ("datetime", "%d/%m/%Y", "datetime", True)


def test_docs_say_what_a_weight_column_is_for() -> None:
    text = (CODEBOOKS.parents[2] / "docs" / "data.md").read_text()
    section = text.split("### Survey weights", 1)[1].split("\n#", 1)[0]
    assert "how many people of the population the row stands for" in section and "never modelled" in section


def test_an_spss_measure_says_a_numeric_code_is_categorical(tmp_path: Path) -> None:
    path = tmp_path / "cb.csv"
    path.write_text("Name,Type,Measure,Label\nsex,Numeric,Nominal,Sex\nsbp,Numeric,Scale,Systolic pressure\n")
    sex, sbp = read_codebook(path)
    assert (sex.kind, sbp.kind) == ("categorical", "continuous")


# --- the header alone ---------------------------------------------------------------------------
def test_moi_is_the_target_and_code_columns_are_left_out_from_the_header_alone(tmp_path: Path) -> None:
    result, out = draft(tmp_path, ["age", "moi", "icd_1", "icd10_code", "dx_code"])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert columns_of(text)["moi"]["role"] == "target"
    for name in ("icd_1", "icd10_code", "dx_code"):
        assert "code" in left_out_reason(text, name)


def test_a_weight_beside_the_survey_design_is_a_survey_weight(tmp_path: Path) -> None:
    result, out = draft(tmp_path, ["Age", "Stratum", "PSU", "Weight", "mechanism"])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "survey weight" in left_out_reason(text, "weight") and "kg" not in text

    alone = tmp_path / "alone"
    alone.mkdir()
    result, out = draft(alone, ["Age", "Weight", "mechanism"])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert columns_of(text)["weight"]["unit"] == "kg"  # body weight, with a comment naming the other reading
    assert re.search(r"^    kind: continuous +# .*survey weight", text, re.M)


def test_the_codebook_wording_names_the_target_a_survey_weight_and_free_text(tmp_path: Path) -> None:
    codebook = tmp_path / "cb.csv"
    codebook.write_text(
        "variable,description,type,values\n"
        'x7,Cause of injury,Qualitative,"""Fall"" ""Road traffic"" ""Other"""\n'
        "wt,Survey weight of the record,Quantitative,\n"
        'note2,"Other injuries, specify",Qualitative,\n'
    )
    result, out = draft(tmp_path, ["x7", "wt", "note2"], "--codebook", str(codebook))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert columns_of(text)["x7"]["role"] == "target"
    assert "survey weight" in left_out_reason(text, "wt")
    assert "free text" in left_out_reason(text, "note2")


def test_a_redcap_data_dictionary_drafts_to_decisions_only(tmp_path: Path) -> None:
    header = ["record_id", "arrival_dt", "age", "sex", "mech", "mech_oth", "sbp", "gcs", "intubated", "pain", "notes"]
    text = drafted(tmp_path, header, "redcap_data_dictionary.csv")
    cols = columns_of(text)
    assert (cols["record_id"]["kind"], cols["record_id"]["role"]) == ("identifier", "excluded")
    assert cols["arrival_dt"]["kind"] == "datetime" and "format" not in cols["arrival_dt"]  # REDCap exports ISO
    assert (cols["age"]["kind"], cols["age"]["bounds"]) == ("integer", [0, 110])
    assert (cols["gcs"]["kind"], cols["gcs"]["bounds"]) == ("integer", [3, 15])
    assert cols["sex"]["categories"] == ["1", "2", "3"] and "3 = Other or not stated" in text
    assert (cols["mech"]["role"], cols["mech"]["categories"]) == ("target", ["1", "2", "3", "4", "5", "6"])
    assert "4 = Road traffic collision, pedestrian" in text
    assert cols["intubated"]["categories"] == ["0", "1"]  # a REDCap yes/no field exports 1 and 0
    assert (cols["pain"]["kind"], cols["pain"]["bounds"]) == ("integer", [0, 100])  # a REDCap slider
    assert (cols["notes"]["kind"], cols["notes"]["role"]) == ("text", "narrative")
    assert "free text" in left_out_reason(text, "mech_oth")
    assert_only_decisions_left(text)
    spec_path = tmp_path / "datasets" / "redcap.yaml"
    bounds = {"arrival_dt": "[2020-01-01, 2024-12-31]", "sbp": "[0, 300]"}
    spec_path.write_text(fill_bounds(text, bounds).replace("name: my_ed", "name: redcap"))
    assert load_spec(spec_path).target.name == "mech"

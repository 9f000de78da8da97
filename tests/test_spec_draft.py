"""tools/draft_spec.py and traumasynth.spec.draft: a spec drafted from a header row and a codebook, no value read.

Every table here is invented.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import DATASETS, REPO, load_stage
from traumasynth.core.errors import DataError, SpecError
from traumasynth.datasets.table import read_file, read_headers, read_table
from traumasynth.spec import DatasetSpec, load_spec
from traumasynth.spec.codebook import read_codebook
from traumasynth.spec.draft_words import snake_case

runner = CliRunner()


def load_tool(name: str):
    """Import ``tools/<name>.py`` (a script) and return its Typer app."""
    module_spec = importlib.util.spec_from_file_location(f"tool_{name}", REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.app


draft_app = load_tool("draft_spec")

#: What a person writes for each TODO value in these tests (public knowledge, invented here).
FILLED = {
    "categories": "[female, male]",
    "bounds": "[0, 300]",
}


def fill(text: str, **values: str) -> str:
    """The draft with its TODO values replaced: ``FILLED`` by field, ``values`` by column name; formats deleted."""
    out: list[str] = []
    column = None
    for line in text.splitlines():
        if m := re.match(r"  - name: (\S+)", line):
            column = m.group(1)
        if m := re.match(r"    (\w+): TODO\b", line):
            if m.group(1) == "format":
                continue
            line = f"    {m.group(1)}: {values.get(column) or FILLED[m.group(1)]}"  # type: ignore[arg-type]
        out.append(line)
    return "\n".join(out) + "\n"


def write_csv(path: Path, header: list[str], rows: list[list[str]] = ()) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def columns_of(text: str) -> dict[str, dict]:
    return {c["name"]: c for c in yaml.safe_load(text)["columns"]}


def draft(tmp_path: Path, header: list[str], *args: str, rows: list[list[str]] = ()) -> tuple[object, Path]:
    data = write_csv(tmp_path / "my_ed.csv", header, rows)
    out = tmp_path / "datasets" / "my_ed.yaml"
    result = runner.invoke(draft_app, [str(data), "--out", str(out), *args])
    return result, out


# --- names ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("Fréquence cardiaque (bpm)", "frequence_cardiaque_bpm"),
        ("HeartRate", "heart_rate"),
        ("SpO2", "spo2"),
        ("patientID", "patient_id"),
        ("  Âge  ", "age"),
        ("1st SBP", "col_1st_sbp"),
        ("---", ""),
    ],
)
def test_headers_become_snake_case_names(header: str, name: str) -> None:
    assert snake_case(header) == name


def test_blank_and_repeated_headers_are_read_by_position(tmp_path: Path) -> None:
    header = ["Visit ID", "Âge (ans)", "", "Sex", "HR", "HR", "Triage note", "Comment", "mechanism"]
    result, out = draft(tmp_path, header)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    cols = columns_of(text)
    assert list(cols) == ["visit_id", "age_ans", "sex", "hr_5", "hr_6", "triage_note", "mechanism"]
    assert cols["age_ans"]["source"] == "Âge (ans)"
    assert (cols["hr_5"]["source"], cols["hr_6"]["source"]) == ("#5", "#6")
    assert cols["visit_id"] | {"source": None} == {
        "name": "visit_id", "source": None, "kind": "identifier", "role": "excluded", "description": "Visit ID",
    }  # fmt: skip
    assert (cols["triage_note"]["kind"], cols["triage_note"]["role"]) == ("text", "narrative")
    assert cols["mechanism"]["role"] == "target"
    # The blank header and the second free-text column stand commented out, read by position.
    assert re.search(r'^#  - \{name: column_3, source: "#3", kind: TODO, .*# #3: not recognised$', text, re.M)
    assert re.search(r"^#  - \{name: comment, source: Comment, kind: TODO, .*# #8: more free text$", text, re.M)
    assert "unlisted_columns: exclude" in text

    # Filled in, the spec reads the right columns of the file.
    spec_path = out.with_name("filled.yaml")
    spec_path.write_text(fill(text, mechanism="[fall, road]").replace("name: my_ed", "name: filled"))
    spec = load_spec(spec_path)
    data = write_csv(tmp_path / "rows.csv", header, [["v1", "34", "x", "female", "80", "95", "note", "c", "fall"]])
    table = read_table(path=data, spec=spec)
    assert table.iloc[0].to_dict() == {
        "visit_id": "v1", "age_ans": "34", "sex": "female", "hr_5": "80", "hr_6": "95",
        "triage_note": "note", "mechanism": "fall",
    }  # fmt: skip


def test_a_190_column_export_lists_the_clinical_columns_and_one_line_for_each_other(tmp_path: Path) -> None:
    clinical = ["Patient ID", "Age", "Sex", "Arrival date", "Arrival mode", "Triage level", "GCS", "SBP", "DBP",
                "Heart rate", "Resp rate", "SpO2", "Temperature", "Pain score", "Body region", "Injury type",
                "Imaging", "Disposition", "Length of stay (hours)", "Mechanism"]  # fmt: skip
    admin = ["Last name", "First name", "Address", "Phone", "Date of birth", "Attending physician", "Bed"]
    header = clinical + admin + [f"LAB_{i:03d}" for i in range(190 - len(clinical) - len(admin))]
    assert len(header) == 190
    result, out = draft(tmp_path, header)
    assert result.exit_code == 0, result.output
    assert "20 column(s) listed, 170 commented out" in result.output
    text = out.read_text()
    cols = columns_of(text)
    assert [c["source"] if "source" in c else c["name"] for c in cols.values()] == clinical
    assert cols["arrival_date"]["kind"] == "datetime" and "format: TODO" in text
    assert cols["length_of_stay_hours"]["unit"] == "hours"
    assert len(re.findall(r"^#  - \{name: ", text, re.M)) == 170
    assert re.search(r"^#  - \{name: date_of_birth, .*personal or administrative", text, re.M)
    assert len(text.splitlines()) < 20 * 8 + 170 + 30  # one line per column left out

    spec_path = out.with_name("wide.yaml")
    spec_path.write_text(
        fill(text, arrival_date="[2019-01-01, 2023-12-31]", mechanism="[fall, road]").replace(
            "name: my_ed", "name: wide"
        )
    )
    spec = load_spec(spec_path)
    assert spec.unlisted_columns == "exclude" and len(spec.columns) == 20


# --- the codebook --------------------------------------------------------------------------
CODEBOOK = (
    "Variable Name;Label;Data type;Units;Value labels;Minimum;Maximum;Date format;Missing\n"
    "age;Age in completed years;int;years;;0;110;;no\n"
    "sex;Sex at registration;nominal;;1=female|2=male;;;;no\n"
    "arrival;Registration date and time;date;;;2019-01-01;2023-12-31;%d/%m/%Y %H:%M;no\n"
    "discharge;Discharge date;date;;;2019-01-01;2024-01-31;ISO 8601;yes\n"
    "temp;Temperature at triage;float;°C;;32;42,5;;yes\n"
    "mechanism;Trauma mechanism;categorical;;fall|road traffic|assault;;;;no\n"
    "ward;Admission ward;categorical;;;;;;yes\n"
    "not_in_file;A variable of another extract;int;;;0;1;;no\n"
)


def test_the_codebook_gives_kinds_categories_bounds_and_formats(tmp_path: Path) -> None:
    codebook = tmp_path / "codebook.csv"
    codebook.write_text(CODEBOOK, encoding="utf-8")
    result, out = draft(tmp_path, ["age", "sex", "arrival", "discharge", "temp", "mechanism", "ward", "x1"],
                        "--codebook", str(codebook))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "not_in_file" in result.output
    text = out.read_text()
    cols = columns_of(text)
    assert cols["sex"]["categories"] == ["1", "2"]
    assert re.search(r"categories: \[\"1\", \"2\"\] +# codebook.csv line 3 \(1 = female; 2 = male\)", text)
    assert (cols["age"]["kind"], cols["age"]["bounds"], cols["age"]["unit"]) == ("integer", [0, 110], "years")
    assert re.search(r"bounds: \[0, 110\] +# codebook.csv line 2$", text, re.M)
    assert cols["temp"]["bounds"] == [32, 42.5] and cols["temp"]["nullable"] is True
    assert cols["arrival"]["format"] == "%d/%m/%Y %H:%M" and "format" not in cols["discharge"]
    assert cols["mechanism"]["categories"] == ["fall", "road traffic", "assault"]
    assert cols["ward"]["categories"] == "TODO"  # the codebook lists no values: still the person's to write
    assert "# Codebook variables with no column in the file: not_in_file." in text
    with pytest.raises(SpecError, match=r"line \d+ \(`categories` of column 'ward'\)"):
        load_spec(out)
    out.write_text(text.replace("categories: TODO", "categories: [ortho, surgery]"))
    spec = load_spec(out)
    assert spec.column("arrival").date_bounds[1].isoformat() == "2023-12-31"


def test_codebook_column_names_are_matched_leniently(tmp_path: Path) -> None:
    path = tmp_path / "cb.csv"
    path.write_text(
        "VARIABLE,Description,Kind,Unité,Modalités,Low,High,Role\nGCS,Glasgow,integer,points,,3,15,feature\n"
    )
    (entry,) = read_codebook(path)
    assert (entry.variable, entry.description, entry.kind, entry.unit, entry.low, entry.high, entry.role) == (
        "GCS", "Glasgow", "integer", "points", 3, 15, "feature",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "suffix", "error"),
    [
        ("description,type\nage,int\n", ".csv", "has no variable column"),
        ("variable\nage\nAge\n", ".csv", "names variable 'Age' twice (lines 2 and 3)"),
        ("variable,min\nage,zero\n", ".csv", "line 2, min is 'zero'"),
        ("", ".csv", "is empty"),
        ("variable\nage\n", ".xlsx", "save it as CSV"),
    ],
)
def test_a_bad_codebook_is_one_line(tmp_path: Path, text: str, suffix: str, error: str) -> None:
    path = tmp_path / f"cb{suffix}"
    path.write_text(text)
    with pytest.raises(DataError, match=re.escape(error)):
        read_codebook(path)


# --- privacy: the header only ---------------------------------------------------------------
def test_no_value_of_the_table_is_read(tmp_path: Path) -> None:
    """Rows holding a sentinel, bytes that are not UTF-8 and too many fields: reading any value would fail."""
    data = tmp_path / "my_ed.csv"
    data.write_bytes(
        b"age,sex,gcs,mechanism\nSENTINEL_4711,SENTINEL_SEX,3,SENTINEL_MECH\n\xff\xfe\x00bad,,,,,,,too,many\n"
    )
    with pytest.raises(DataError):
        read_file(data)  # the rows cannot be read at all...
    assert read_headers(data) == ["age", "sex", "gcs", "mechanism"]  # ...the header can
    out = tmp_path / "my_ed.yaml"
    result = runner.invoke(draft_app, [str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "SENTINEL" not in text and "No value of the table was read" in text.splitlines()[1]


def test_a_parquet_file_gives_its_schema_only(tmp_path: Path) -> None:
    data = tmp_path / "ed.parquet"
    pd.DataFrame({"Age": [1], "Sex": ["SENTINEL"]}, index=pd.Index([7], name="row")).to_parquet(data)
    assert read_headers(data) == ["Age", "Sex"]


# --- the default dataset, through fake_table and a codebook ---------------------------------------
def codebook_of(spec: DatasetSpec, path: Path) -> Path:
    """A codebook saying what ``spec`` says of each column (the public knowledge a custodian holds)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["variable", "description", "type", "unit", "values", "min", "max", "nullable", "role"])
        for c in spec.columns:
            low, high = c.bounds or ("", "")
            role = c.role if c.role in ("target", "excluded") else ""
            values = "|".join(c.categories or ())
            writer.writerow([c.name, c.description, c.kind, c.unit or "", values, low, high, c.nullable, role])
    return path


def test_the_default_dataset_drafted_from_fake_table_and_a_codebook_is_the_spec(tmp_path: Path) -> None:
    sim = load_spec(DATASETS / "ed_trauma_sim.yaml")
    data = tmp_path / "sim.csv"
    fake = runner.invoke(load_tool("fake_table"), [str(DATASETS / "ed_trauma_sim.yaml"), str(data), "--rows", "30"])
    assert fake.exit_code == 0, fake.output

    bare = tmp_path / "bare.yaml"
    assert runner.invoke(draft_app, [str(data), "--out", str(bare)]).exit_code == 0
    with pytest.raises(SpecError, match=r"unfinished draft: replace the TODO at line \d+ \(`bounds` of column 'age'\)"):
        load_spec(bare)
    guessed = columns_of(bare.read_text())
    assert {n: guessed[n]["kind"] for n in ("patient_id", "age", "sex", "gcs", "temperature", "mechanism")} == {
        "patient_id": "identifier", "age": "integer", "sex": "categorical", "gcs": "integer",
        "temperature": "continuous", "mechanism": "categorical",
    }  # fmt: skip

    out = tmp_path / "ed_trauma_sim.yaml"
    result = runner.invoke(
        draft_app, [str(data), "--out", str(out), "--codebook", str(codebook_of(sim, tmp_path / "cb.csv"))]
    )
    assert result.exit_code == 0, result.output
    assert "0 commented out, 0 TODO value(s)" in result.output
    drafted = load_spec(out)
    keep = {"name", "kind", "role", "description", "unit", "nullable", "categories", "bounds"}
    assert [c.model_dump(include=keep) for c in drafted.columns] == [c.model_dump(include=keep) for c in sim.columns]


# --- errors: one line, no traceback -------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "name", "error"),
    [
        (None, "missing.csv", "not found"),
        (b"", "empty.csv", "is empty"),
        (b",,\n1,2,3\n", "blank.csv", "has no header"),
        (b"a,b\n", "table.xlsx", "use a .csv or .parquet file"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path: Path, content: bytes | None, name: str, error: str) -> None:
    data = tmp_path / name
    if content is not None:
        data.write_bytes(content)
    out = tmp_path / "x.yaml"
    result = runner.invoke(draft_app, [str(data), "--out", str(out)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.startswith("error: ") and error in result.output
    assert result.output.strip().count("\n") == 0 and not out.exists()


def test_an_existing_spec_is_kept_without_force(tmp_path: Path) -> None:
    result, out = draft(tmp_path, ["age", "mechanism"])
    assert result.exit_code == 0
    out.write_text("my edits")
    again = runner.invoke(draft_app, [str(tmp_path / "my_ed.csv"), "--out", str(out)])
    assert again.exit_code == 1 and "--force" in again.output and out.read_text() == "my edits"
    assert runner.invoke(draft_app, [str(tmp_path / "my_ed.csv"), "--out", str(out), "--force"]).exit_code == 0


def test_prepare_on_an_unfinished_draft_names_the_todo_in_one_line(tmp_path: Path) -> None:
    result, out = draft(tmp_path, ["Age", "Sex", "mechanism"])
    assert result.exit_code == 0
    params = tmp_path / "params.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "base": {"seed": 1, "dataset": "my_ed", "dataset_path": str(tmp_path / "my_ed.csv")},
                "prepare": {"n_rows": 600, "val_size": 0.2, "test_size": 0.2, "min_class_rows": 10},
            }
        )
    )
    prepared = runner.invoke(
        load_stage("prepare"),
        ["--params", str(params), "--out-dir", str(tmp_path / "prepared"), "--metrics", str(tmp_path / "m.json"),
         "--datasets-dir", str(out.parent)],
    )  # fmt: skip
    assert prepared.exit_code == 1
    assert re.fullmatch(
        r"error: Dataset specification \S+my_ed.yaml is an unfinished draft: replace the TODO at line \d+ "
        r"\(`bounds` of column 'age'\) \(and 2 more TODOs\)\. .*\n",
        prepared.output,
    )


def test_a_quoted_todo_is_a_label_not_a_placeholder(tmp_path: Path) -> None:
    path = tmp_path / "quoted.yaml"
    path.write_text(
        "name: quoted\ndescription: d\ncolumns:\n"
        "  - {name: age, kind: integer, description: age, bounds: [0, 1]}\n"
        '  - {name: mechanism, kind: categorical, role: target, description: m, categories: [fall, "TODO"]}\n'
    )
    assert load_spec(path).column("mechanism").categories == ("fall", "TODO")
    path.write_text(path.read_text().replace('"TODO"', "TODO"))
    with pytest.raises(SpecError, match=r"replace the TODO at line 5 \(`categories.1` of column 'mechanism'\)\."):
        load_spec(path)

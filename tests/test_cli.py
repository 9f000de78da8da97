"""The stage layer shared by every stage script: its opening (`open_stage`) and error handling."""

import typer
import yaml
from typer.testing import CliRunner

from tests.conftest import DATASETS
from traumasynth.cli import open_stage, stage_errors
from traumasynth.core.errors import DataError
from traumasynth.prepare import PrepareParams

app = typer.Typer()


@app.command()
def main(kind: str) -> None:
    with stage_errors():
        if kind == "data":
            raise DataError("Data file x.csv not found. Set `base.dataset_path`.")
        if kind == "interrupt":
            raise KeyboardInterrupt
        typer.echo("ok")


def test_library_errors_become_exit_1_with_the_message():
    result = CliRunner().invoke(app, ["data"])
    assert result.exit_code == 1
    assert "error: Data file x.csv not found" in result.output


def test_ctrl_c_exits_130_without_a_traceback():
    result = CliRunner().invoke(app, ["interrupt"])
    assert result.exit_code == 130
    assert "interrupted" in result.output and "Traceback" not in result.output


def test_success_passes_through():
    assert CliRunner().invoke(app, ["fine"]).exit_code == 0


def _opened(params_file, **kwargs) -> tuple[int, str, dict]:
    """Run ``open_stage`` in a one-command app; return its exit code, its output and what it read."""
    seen: dict = {}
    opener = typer.Typer()

    @opener.command()
    def main() -> None:
        with open_stage(params=params_file, verbose=False, **kwargs) as stage:
            seen["stage"] = stage
            if kwargs.get("section"):
                seen["params"] = stage.params

    result = CliRunner().invoke(opener, [])
    return result.exit_code, result.output, seen


def test_open_stage_reads_base_its_section_and_the_spec(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"base": {"seed": 7}, "prepare": {"n_rows": 500}}))
    code, output, seen = _opened(params, datasets_dir=DATASETS, section="prepare", params_type=PrepareParams)
    assert code == 0, output
    stage = seen["stage"]
    assert (stage.base.seed, stage.params.n_rows, stage.spec.name) == (7, 500, "ed_trauma_sim")
    assert stage.spec_path == DATASETS / "ed_trauma_sim.yaml"


def test_open_stage_turns_a_missing_section_or_spec_into_exit_1(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"base": {"dataset": "nowhere"}}))
    code, output, _ = _opened(params, section="prepare", params_type=PrepareParams)
    assert code == 1 and "has no section 'prepare'" in output
    params.write_text(yaml.safe_dump({"base": {"dataset": "nowhere"}, "prepare": {}}))
    code, output, _ = _opened(params, datasets_dir=DATASETS, section="prepare", params_type=PrepareParams)
    assert code == 1 and "error:" in output and "nowhere" in output


def test_an_optional_section_defaults_and_nothing_is_read_unless_asked(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"base": {}}))
    code, output, seen = _opened(params, section="prepare", params_type=PrepareParams, optional=True)
    assert code == 0, output
    assert seen["params"] == PrepareParams()
    # without a section, params.yaml is read only when the stage asks for `base`
    code, output, _ = _opened(tmp_path / "absent.yaml")
    assert code == 0, output


def test_another_section_may_be_optional(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"base": {}, "prepare": {"n_rows": 700}}))
    code, output, seen = _opened(params)
    assert code == 0, output
    stage = seen["stage"]
    assert stage.load("prepare", PrepareParams).n_rows == 700
    assert stage.load("absent", PrepareParams, optional=True) == PrepareParams()

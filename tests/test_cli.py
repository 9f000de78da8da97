"""The stage layer's error handling, shared by every stage script."""

import typer
from typer.testing import CliRunner

from traumasynth.cli import stage_errors
from traumasynth.errors import DataError

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

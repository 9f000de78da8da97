"""Stage ``train_dp_tabular``: its parameters, and training one synthesizer from the prepared split.

``TrainParams`` is the ``train_dp_tabular`` section of ``params.yaml``: the DP-SGD and budget
knobs shared by every model (``traumasynth.privacy.settings.DPSettings``, which the privacy code
and the models read) and each model's own sub-section (``vae:``, ``ddpm:``, ``marginals:``),
validated by that model's config class when it is trained. :func:`run` is the stage.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field, ValidationError

from traumasynth.core.errors import DataError, ParamsError
from traumasynth.core.io import write_json_atomic, write_text_atomic
from traumasynth.core.params import FrozenParams
from traumasynth.models import Synthesizer, get_synthesizer
from traumasynth.privacy.checkpoint import LoopControl
from traumasynth.privacy.dp import TrainResult
from traumasynth.privacy.inputs import resolve_device
from traumasynth.privacy.keys import release_seed
from traumasynth.privacy.settings import DPSettings
from traumasynth.spec import DatasetSpec

__all__ = ["TrainParams", "TrainResult", "model_config", "release_settings", "train_synthesizer", "run"]

logger = logging.getLogger(__name__)


class TrainParams(DPSettings):
    """Section ``train_dp_tabular`` of ``params.yaml``: :class:`DPSettings` and each model's sub-section.

    Attributes:
        vae: size of the DP-VAE (``traumasynth.models.vae.VAEConfig``).
        ddpm: size of the DP-DDPM (``traumasynth.models.ddpm``).
        marginals: bins and noise of the DP marginals floor (``traumasynth.models.marginals.MarginalsConfig``).
    """

    vae: dict[str, Any] = Field(default_factory=dict)
    ddpm: dict[str, Any] = Field(default_factory=dict)
    marginals: dict[str, Any] = Field(default_factory=dict)


def model_config(params: TrainParams, model: str) -> FrozenParams:
    """The typed config of ``model`` from its sub-section of ``train_dp_tabular``.

    Raises:
        ParamsError: unknown model, or an invalid key in its sub-section.
    """
    cls = get_synthesizer(model)
    raw = getattr(params, model, None)
    if raw is None:
        raise ParamsError(f"train_dp_tabular has no `{model}:` sub-section. Add one (it may be empty: `{{}}`).")
    try:
        return cls.config_class.model_validate(raw)
    except ValidationError as exc:
        lines = [f"train_dp_tabular.{model}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ParamsError("Invalid model parameters:\n  - " + "\n  - ".join(lines)) from exc


def release_settings(params: TrainParams, model: str) -> dict[str, Any]:
    """What ``model``'s release draws its noise from: the shared settings and its own sub-section.

    Exactly the keys its stage depends on in ``dvc.yaml``: another model's sub-section is left out.
    """
    return params.model_dump(mode="json", include=set(DPSettings.model_fields) | {model})


def train_synthesizer(
    *,
    model: str,
    data: pd.DataFrame,
    spec: DatasetSpec,
    params: TrainParams,
    seed: int,
    control: LoopControl | None = None,
) -> tuple[Synthesizer, TrainResult]:
    """Build the synthesizer ``model`` from its params sub-section and train it on ``data``.

    ``seed`` is ``base.seed``: under DP the model draws from :func:`traumasynth.privacy.keys.release_seed`
    of it, the model's name, ``data`` and ``params``, so that every different release draws fresh
    noise and the models of one run draw independent noise. ``control`` stops DP-SGD early (the
    scaling benchmark times a fixed number of steps) or keeps a checkpoint to resume from.

    Raises:
        ParamsError: unknown model or invalid parameters, ``cuda`` without a GPU.
        PrivacyBudgetError, DataError, SchemaError, TrainingError: see ``Synthesizer.fit``.
    """
    cls = get_synthesizer(model)
    config = model_config(params, model)
    device = resolve_device(params.device)
    synth = cls(spec=spec, config=config)
    logger.info(
        "Training %s on %d rows (%s, device %s)",
        model,
        len(data),
        "DP" if params.epsilon else "no DP: train_dp_tabular.epsilon is null, a reference only",
        device,
    )
    # A non-private reference run has no noise to keep fresh: it keeps base.seed.
    if params.epsilon is not None:
        seed = release_seed(seed=seed, model=model, rows=data, settings=release_settings(params, model))
    result = synth.fit(data, params=params, device=device, seed=seed, control=control)
    return synth, result


def loss_curve_csv(result: TrainResult) -> str:
    """The loss curve as CSV text with columns ``epoch,loss`` (for ``dvc plots``)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["epoch", "loss"])
    writer.writerows((epoch, f"{loss:.6f}") for epoch, loss in result.loss_curve)
    return buf.getvalue()


def run(
    *,
    model: str,
    train_path: Path,
    spec: DatasetSpec,
    params: TrainParams,
    seed: int,
    out_dir: Path,
    metrics_path: Path,
    loss_curve_path: Path,
    control: LoopControl | None = None,
) -> TrainResult:
    """Train ``model`` on the prepared split and write its folder, metrics and loss curve.

    Nothing is written unless training succeeds; each output is written atomically. With
    ``control.checkpoint`` a long DP-SGD run saves its state at epoch ends, and a rerun after an
    interruption continues from there (``traumasynth.privacy.checkpoint``).

    Raises:
        DataError: the training split is missing or unreadable.
        TraumaSynthError: any error of :func:`train_synthesizer`.
    """
    if not train_path.is_file():
        raise DataError(f"Training split {train_path} not found. Run the prepare stage first (dvc repro prepare).")
    try:
        data = pd.read_parquet(train_path)
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot read {train_path}: {exc}. Rerun the prepare stage.") from exc
    get_synthesizer(model)  # fail on an unknown name before reading anything else
    synth, result = train_synthesizer(model=model, data=data, spec=spec, params=params, seed=seed, control=control)
    synth.save(out_dir)
    write_json_atomic({"model": model, **result.to_metrics()}, metrics_path)
    write_text_atomic(loss_curve_csv(result), loss_curve_path)
    logger.info("Saved %s to %s (ε=%s)", model, out_dir, result.epsilon)
    return result

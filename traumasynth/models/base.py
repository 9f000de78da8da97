"""The synthesizer interface (SDV-style) shared by every generative model.

A synthesizer learns the modelled columns of a dataset specification and emits new
rows in the spec's form. The public methods live here and do the common work
(checking inputs, encoding with :class:`~traumasynth.encoding.table.TableEncoder`,
validating outputs, saving atomically, refusing a model of another spec); a model
implements four private hooks:

- ``_build_network()`` -> the ``nn.Module`` whose ``state_dict`` is saved,
- ``_fit(enc, params=, device=, seed=)`` -> trains it (through ``traumasynth.privacy.dp``),
- ``_sample_encoded(y, generator=)`` -> encoded rows for the given target classes,
- ``_class_probabilities()`` -> class mix used when ``sample`` gets no ``conditions``.

On disk a model is a folder: ``weights.pt`` (``state_dict``), ``config.json`` (the
model's config), ``encoder.json`` (the encoder layout) and ``meta.json`` (model name,
spec name and hash, training summary). Never a pickle of the object.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from traumasynth.core.errors import DataError, ModelMismatchError, NotFittedError, SchemaError
from traumasynth.core.io import atomic_dir, read_json_object
from traumasynth.core.params import FrozenParams
from traumasynth.encoding.table import EncodedTable, TableEncoder
from traumasynth.privacy.checkpoint import LoopControl
from traumasynth.privacy.dp import TrainResult
from traumasynth.privacy.settings import DPSettings
from traumasynth.spec import DatasetSpec
from traumasynth.spec.schema import validate

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "weights.pt"
CONFIG_FILE = "config.json"
ENCODER_FILE = "encoder.json"
META_FILE = "meta.json"
_FORMAT = 1


class Synthesizer(ABC):
    """A conditional tabular generator of the modelled columns of one dataset spec.

    Args:
        spec: the dataset specification the model learns.
        config: the model's size/architecture settings (``config_class``); defaults if omitted.
    """

    name: ClassVar[str]
    config_class: ClassVar[type[FrozenParams]]

    def __init__(self, *, spec: DatasetSpec, config: FrozenParams | None = None) -> None:
        if config is not None and not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        self.spec = spec
        self.config = config if config is not None else self.config_class()
        self.encoder = TableEncoder(spec)
        self.network: nn.Module = self._build_network()
        self.train_result: TrainResult | None = None
        self._fitted = False

    # -- hooks ---------------------------------------------------------------
    @abstractmethod
    def _build_network(self) -> nn.Module:
        """A freshly initialised network for ``self.config`` and ``self.encoder``."""

    @abstractmethod
    def _fit(
        self,
        enc: EncodedTable,
        *,
        params: DPSettings,
        device: torch.device,
        seed: int,
        control: LoopControl | None = None,
    ) -> TrainResult:
        """Train ``self.network`` on the encoded rows (``control``: early stop, checkpoint: ``privacy.checkpoint``)."""

    @abstractmethod
    def _sample_encoded(self, y: torch.Tensor, *, generator: torch.Generator) -> EncodedTable:
        """Encoded rows whose targets are ``y`` (int64 ``[N]``), drawn with ``generator`` only."""

    def _class_probabilities(self) -> np.ndarray:
        """Class mix used when ``sample`` gets no ``conditions`` (default: uniform)."""
        return np.full(self.encoder.n_classes, 1.0 / self.encoder.n_classes)

    # -- public API ----------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return self._fitted

    def fit(
        self,
        data: pd.DataFrame,
        *,
        params: DPSettings,
        device: torch.device,
        seed: int = 0,
        control: LoopControl | None = None,
    ) -> TrainResult:
        """Learn the modelled columns of ``data`` (a frame in the spec's form).

        Only ``spec.modelled_columns`` are used; id and narrative columns are ignored.

        Args:
            data: training rows, e.g. ``data/prepared/train.parquet``.
            params: section ``train_dp_tabular``.
            device: where to train.
            seed: seeds initialisation, batches and noise.
            control: stop DP-SGD early (benchmarks: the model is then not the planned release;
                its metrics say so in ``step_limit``) or keep a checkpoint to resume from
                (``traumasynth.privacy.checkpoint``).

        Raises:
            SchemaError: the frame does not match the spec.
            DataError: a class has a single row (cannot be learned or protected meaningfully).
            PrivacyBudgetError, ParamsError, TrainingError: see ``traumasynth.privacy.dp.train_dp``.
        """
        enc = self.encoder.encode(data)
        counts = np.bincount(enc.y, minlength=self.encoder.n_classes)
        singles = [self.encoder.classes[i] for i, c in enumerate(counts) if c == 1]
        if singles:
            raise DataError(
                f"Class(es) {', '.join(singles)} of '{self.spec.target.name}' have a single training row. "
                "A model cannot learn a class from one record, and that record would be the one most at risk. "
                "Collect more rows, or merge the class into another (prepare.rare_class_policy: merge)."
            )
        torch.manual_seed(seed)
        self.network = self._build_network()  # refit starts from scratch, deterministically
        result = self._fit(enc, params=params, device=device, seed=seed, control=control)
        self.network = self.network.to("cpu").eval()
        self.train_result = result
        self._fitted = True
        return result

    def sample(self, n: int, *, conditions: dict[str, int] | None = None, seed: int) -> pd.DataFrame:
        """Draw synthetic rows of the modelled columns, in the spec's form.

        Args:
            n: number of rows when ``conditions`` is None (ignored otherwise).
            conditions: target class -> number of rows, e.g. ``{"self_harm": 1000}``;
                the result then has exactly those counts.
            seed: the same seed gives the same rows.

        Raises:
            NotFittedError: the model was neither fitted nor loaded.
            SchemaError: a class in ``conditions`` is not in the spec, or a count is negative.
        """
        if not self._fitted:
            raise NotFittedError(f"The {self.name} synthesizer is not trained. Call fit() or load() first.")
        rng = np.random.default_rng(seed)
        if conditions is not None:
            unknown = [c for c in conditions if c not in self.encoder.classes]
            bad = [f"{c}={k}" for c, k in conditions.items() if int(k) != k or k < 0]
            if unknown or bad:
                classes = ", ".join(self.encoder.classes)
                raise SchemaError(
                    "Invalid sampling conditions:",
                    [f"'{c}' is not a class of '{self.spec.target.name}' ({classes})" for c in unknown]
                    + [f"count {b} must be a non-negative integer" for b in bad],
                )
            y = np.concatenate(
                [np.full(int(k), self.encoder.class_index(c), dtype=np.int64) for c, k in conditions.items()]
                + [np.zeros(0, dtype=np.int64)]
            )
            y = rng.permutation(y)
        else:
            if n < 0:
                raise SchemaError(f"Cannot sample {n} rows: n must be >= 0.")
            y = rng.choice(self.encoder.n_classes, size=n, p=self._class_probabilities()).astype(np.int64)
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
        self.network.eval()
        with torch.no_grad():
            enc = self._sample_encoded(torch.from_numpy(y), generator=generator)
        df = self.encoder.decode(enc, seed=int(rng.integers(2**62)))
        return validate(df, self.spec, columns=self.encoder.columns, what=f"{self.name} synthetic table")

    def save(self, directory: str | Path) -> None:
        """Write the model folder atomically (a reader never sees a half-written model).

        Raises:
            NotFittedError: nothing to save yet.
        """
        if not self._fitted:
            raise NotFittedError(f"The {self.name} synthesizer is not trained; nothing to save.")
        meta: dict[str, Any] = {
            "format": _FORMAT,
            "model": self.name,
            "spec_name": self.spec.name,
            "spec_version": self.spec.version,
            "spec_hash": self.spec.spec_hash,
            "torch_version": torch.__version__,
            "training": self.train_result.to_model_meta() if self.train_result is not None else None,
            "extra": self._extra_state(),
        }
        with atomic_dir(directory) as tmp:
            torch.save(self.network.state_dict(), tmp / WEIGHTS_FILE)
            _write_json(tmp / CONFIG_FILE, {"model": self.name, "config": self.config.model_dump(mode="json")})
            _write_json(tmp / ENCODER_FILE, self.encoder.to_dict())
            _write_json(tmp / META_FILE, meta)

    @classmethod
    def load(cls, directory: str | Path, *, spec: DatasetSpec) -> Synthesizer:
        """Load a model folder written by :meth:`save`.

        Raises:
            DataError: the folder or one of its files is missing or unreadable.
            ModelMismatchError: the model was trained on another spec, or is another model type.
        """
        directory = Path(directory)
        missing = [f for f in (WEIGHTS_FILE, CONFIG_FILE, ENCODER_FILE, META_FILE) if not (directory / f).is_file()]
        if missing:
            raise DataError(
                f"{directory} is not a saved model (missing {', '.join(missing)}). "
                "Train one first (dvc repro train_dp_tabular)."
            )
        meta = _read_json(directory / META_FILE)
        if meta.get("model") != cls.name:
            raise ModelMismatchError(
                f"{directory} holds a '{meta.get('model')}' model, not '{cls.name}'. "
                f"Load it with get_synthesizer('{meta.get('model')}')."
            )
        if meta.get("spec_hash") != spec.spec_hash:
            raise ModelMismatchError(
                f"The model in {directory} was trained on dataset specification '{meta.get('spec_name')}' "
                f"(hash {str(meta.get('spec_hash'))[:12]}), not on '{spec.name}' (hash {spec.spec_hash[:12]}). "
                "Retrain it with this specification or load it with the specification it was trained on."
            )
        config = cls.config_class.model_validate(_read_json(directory / CONFIG_FILE)["config"])
        model = cls(spec=spec, config=config)
        model.encoder = TableEncoder.from_dict(_read_json(directory / ENCODER_FILE), spec=spec)
        state = torch.load(directory / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        try:
            model.network.load_state_dict(state)
        except RuntimeError as exc:
            raise ModelMismatchError(f"The weights in {directory} do not fit the saved config: {exc}") from exc
        model._load_extra_state(meta.get("extra") or {})
        model.network.eval()
        model._fitted = True
        return model

    # -- optional hooks for non-tensor state (JSON-able) ----------------------
    def _extra_state(self) -> dict[str, Any]:
        """JSON-able state saved in ``meta.json`` beside the weights (default: none)."""
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Restore what :meth:`_extra_state` returned."""


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n")


def _read_json(path: Path) -> dict[str, Any]:
    return read_json_object(path, fix="Retrain the model.")

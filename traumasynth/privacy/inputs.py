"""The inputs of a DP training run, checked before any private row is read: batch size, device, δ.

``batch_size: null`` resolves to a share of the training rows; ``device: auto`` to a GPU when one
is visible; δ must lie well below ``1/n`` for the guarantee to mean anything. (ε itself is checked
once, where the parameters are read: ``traumasynth.privacy.settings.DPSettings``.)
"""

from __future__ import annotations

import math

import torch

from traumasynth.core.errors import ParamsError, PrivacyBudgetError
from traumasynth.privacy.settings import DPSettings

#: ``batch_size: null`` takes this share of the training rows (each epoch then has ~16 DP-SGD steps) ...
AUTO_BATCH_SHARE = 16
#: ... capped here: larger batches only slow each step on a CPU.
AUTO_BATCH_MAX = 1024


def auto_batch_size(n_rows: int) -> int:
    """The expected batch of ``batch_size: null``: ``n_rows // 16`` within ``[1, 1024]``."""
    return max(1, min(AUTO_BATCH_MAX, n_rows // AUTO_BATCH_SHARE))


def resolve_batch_size(params: DPSettings, *, n_rows: int) -> DPSettings:
    """``params`` with ``batch_size: null`` replaced by :func:`auto_batch_size` of ``n_rows``."""
    if params.batch_size is not None:
        return params
    return params.model_copy(update={"batch_size": auto_batch_size(n_rows)})


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when a GPU is visible, else CPU.

    Raises:
        ParamsError: ``cuda`` was asked for but no GPU is visible, or the name is unknown.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ParamsError(
                "train_dp_tabular.device is 'cuda' but PyTorch sees no GPU (CPU-only build or no driver). "
                "Set it to 'auto' or 'cpu'."
            )
        return torch.device("cuda")
    raise ParamsError(f"Unknown device '{device}'. Use one of: auto, cpu, cuda.")


def check_privacy_inputs(*, epsilon: float | None, delta: float, n_rows: int, batch_size: int) -> None:
    """Reject settings that would train badly or give a meaningless guarantee.

    Raises:
        PrivacyBudgetError: δ outside (0, 1/n) under DP, or no rows.
        ParamsError: the batch is larger than the dataset.
    """
    if n_rows <= 0:
        raise PrivacyBudgetError("The training table has no rows; nothing to train on.")
    # ε itself is validated once, where the parameters are read (DPSettings).
    if epsilon is not None:
        if not 0 < delta < 1 / n_rows:
            raise PrivacyBudgetError(
                f"train_dp_tabular.delta = {delta:g} is not below 1/n = {1 / n_rows:.3g} for {n_rows} training rows. "
                "δ is the probability that the guarantee fails outright: with δ ≥ 1/n a mechanism that publishes "
                f"one whole record at random satisfies it, so choose δ ≪ 1/n, e.g. {_suggest_delta(n_rows):g}."
            )
    if batch_size > n_rows:
        raise ParamsError(
            f"train_dp_tabular.batch_size = {batch_size} is larger than the {n_rows} training rows. "
            f"Lower it (at most {n_rows}, ideally a few percent of the rows)."
        )


def _suggest_delta(n_rows: int) -> float:
    return 10.0 ** math.floor(math.log10(1 / n_rows) - 1)

"""All Opacus wiring: DP-SGD training of any synthesizer network, and its privacy accounting.

A model hands this module a :class:`DPTask`: its network (an ``nn.Module`` whose forward
returns one packed tensor), a per-example criterion (``reduction="none"`` returns a
``[B]`` loss, which ghost clipping needs) and a function that builds a batch's inputs
and target from the encoded rows (so a model can draw its own per-batch noise, e.g.
the reparameterisation noise of a VAE or the diffusion time and noise of a DDPM).
:func:`train_dp` then runs one loop for both modes:

- ``noise_multiplier`` set (by the budget plan, ``traumasynth.privacy.plan``):
  ``ModuleValidator.validate(strict=True)``, ``PrivacyEngine`` with the chosen accountant,
  ``make_private`` with Poisson sampling; the ε of the DP-SGD steps alone is read back from
  the accountant (the plan states the composed total).
- ``noise_multiplier`` is ``None``: the same loop with a plain optimizer, as a non-private reference.

Secure RNG versus reproducibility
---------------------------------
With ``secure_mode=False`` (the default) the Gaussian noise and the Poisson batch
sampling come from PyTorch's pseudo-random generators, seeded from the custodian's secret
noise key and ``base.seed`` (``traumasynth.privacy.keys``): the same key and parameters give
the same model, which DVC and reviewers rely on, and ``base.seed`` alone predicts nothing.
Floating-point Gaussian sampling can still leak through its low-order bits (Mironov 2012).
``secure_mode: true`` makes Opacus draw from ``/dev/urandom`` through ``torchcsprng`` with
noise resistant to floating-point attacks, but ``torchcsprng`` has had no release for
current torch.
"""

from __future__ import annotations

import functools
import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from opacus import PrivacyEngine
from opacus.validators import ModuleValidator
from opacus.validators.errors import UnsupportedModuleError
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from traumasynth.errors import ParamsError, PrivacyBudgetError, TrainingError
from traumasynth.privacy.keys import keyed_seed
from traumasynth.privacy.settings import TrainParams
from traumasynth.seed import seed_everything

logger = logging.getLogger(__name__)


#: Builds (inputs of the network, target of the criterion) from a batch of encoded rows.
BatchBuilder = Callable[[tuple[torch.Tensor, ...], torch.Generator], tuple[tuple[torch.Tensor, ...], torch.Tensor]]


class Criterion(nn.Module):
    """A loss module whose ``reduction`` Opacus switches: ``"none"`` gives ``[B]``, ``"mean"`` the mean."""

    reduction: str


@dataclass(frozen=True)
class DPTask:
    """What a model gives the DP training loop.

    Attributes:
        module: the network; ``module(*inputs)`` returns one packed tensor ``[B, D]``.
        criterion: ``criterion(output, target)``; must have a ``reduction`` attribute and
            return a ``[B]`` per-example loss when it is ``"none"``, the mean when ``"mean"``.
        make_batch: ``make_batch(batch, generator) -> (inputs, target)`` where ``batch`` is
            a tuple of tensors of the training dataset (already on the device) and
            ``generator`` a CPU ``torch.Generator`` for any per-batch noise.
    """

    module: nn.Module
    criterion: Criterion
    make_batch: BatchBuilder


@dataclass(frozen=True)
class TrainResult:
    """What a training run did and what it cost in privacy.

    ``epsilon`` is the ε spent as read back from the accountant (``None`` without DP).
    """

    dp: bool
    epsilon: float | None
    delta: float | None
    noise_multiplier: float
    sample_rate: float | None
    steps: int | None
    epochs: int | None
    batch_size: int | None
    max_grad_norm: float | None
    accountant: str | None
    grad_sample_mode: str | None
    final_loss: float | None
    train_seconds: float
    rows_per_second: float
    n_rows: int
    device: str
    loss_curve: list[tuple[int, float]] = field(default_factory=list)
    cpu_seconds: float = 0.0  # process CPU time of the loop: a speed figure robust to other load
    budget: dict[str, Any] | None = None  # the budget plan (traumasynth.privacy.plan.BudgetPlan.to_metrics)

    #: Fields that are exact statistics of the private rows (or reveal their number): they go to the
    #: custodian's ``metrics/train_<model>.json`` only, never into the model folder (:meth:`to_model_meta`).
    EXACT_FIELDS = ("n_rows", "batch_size", "final_loss", "train_seconds", "rows_per_second", "cpu_seconds")

    def to_model_meta(self) -> dict[str, Any]:
        """What the model folder's ``meta.json`` keeps: the DP settings and budget, no exact statistic."""
        return {k: v for k, v in self.to_metrics().items() if k not in self.EXACT_FIELDS}

    def to_metrics(self) -> dict[str, Any]:
        """The JSON form written to ``metrics/train_<model>.json`` (the curve goes to its own CSV)."""
        return {
            "dp": self.dp,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "noise_multiplier": self.noise_multiplier,
            "sample_rate": self.sample_rate,
            "steps": self.steps,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "max_grad_norm": self.max_grad_norm,
            "accountant": self.accountant,
            "grad_sample_mode": self.grad_sample_mode,
            "final_loss": self.final_loss,
            "train_seconds": round(self.train_seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "n_rows": self.n_rows,
            "device": self.device,
            "budget": self.budget,
        }


#: ``batch_size: null`` takes this share of the training rows (each epoch then has ~16 DP-SGD steps) ...
AUTO_BATCH_SHARE = 16
#: ... capped here: larger batches only slow each step on a CPU.
AUTO_BATCH_MAX = 1024


def auto_batch_size(n_rows: int) -> int:
    """The expected batch of ``batch_size: null``: ``n_rows // 16`` within ``[1, 1024]``."""
    return max(1, min(AUTO_BATCH_MAX, n_rows // AUTO_BATCH_SHARE))


def resolve_batch_size(params: TrainParams, *, n_rows: int) -> TrainParams:
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
        PrivacyBudgetError: ε ≤ 0, δ outside (0, 1/n), or no rows.
        ParamsError: the batch is larger than the dataset.
    """
    if n_rows <= 0:
        raise PrivacyBudgetError("The training table has no rows; nothing to train on.")
    if epsilon is not None:
        if not math.isfinite(epsilon) or epsilon <= 0:
            raise PrivacyBudgetError(
                f"train_dp_tabular.epsilon must be a positive number, got {epsilon}. "
                "Typical values are 1 to 10; set it to null to train without differential privacy."
            )
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


def _make_engine(params: TrainParams) -> PrivacyEngine:
    try:
        return PrivacyEngine(accountant=params.accountant, secure_mode=params.secure_mode)
    except ImportError as exc:
        raise PrivacyBudgetError(
            "train_dp_tabular.secure_mode is true but the `torchcsprng` package is not installed. "
            "Install it (it must match the installed torch) or set secure_mode to false for "
            "reproducible, non-cryptographic noise (see traumasynth.privacy.dp)."
        ) from exc


def _validate_module(module: nn.Module) -> None:
    try:
        ModuleValidator.validate(module, strict=True)
    except UnsupportedModuleError as exc:
        raise TrainingError(
            f"The network has layers DP-SGD cannot train: {exc}. "
            "Replace BatchNorm by LayerNorm/GroupNorm (opacus ModuleValidator.fix) in the model definition."
        ) from exc


def _batch_size_of(batch: tuple[torch.Tensor, ...]) -> int:
    return int(batch[0].shape[0])


def _understood_opacus_warnings(fn: Callable[..., TrainResult]) -> Callable[..., TrainResult]:
    """Run ``fn`` without the Opacus warnings we understand; any other warning still shows."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> TrainResult:
        with warnings.catch_warnings():
            # Our noise is keyed by the custodian's secret (traumasynth.privacy.keys), which Opacus cannot see.
            warnings.filterwarnings("ignore", message="Secure RNG turned off", category=UserWarning)
            # Ghost clipping's second backward pass has no input needing gradients: the hook fires as designed.
            warnings.filterwarnings("ignore", message="Full backward hook is firing", category=UserWarning)
            # The PRV accountant's internal RDP bound (it only sizes the PRV domain) at the edge of its orders.
            warnings.filterwarnings("ignore", message="Optimal order is the largest alpha", category=UserWarning)
            return fn(*args, **kwargs)

    return wrapper


@_understood_opacus_warnings
def train_dp(
    *,
    task: DPTask,
    dataset: TensorDataset,
    params: TrainParams,
    device: torch.device,
    seed: int,
    noise_multiplier: float | None,
    desc: str = "training",
) -> TrainResult:
    """Train ``task.module`` in place with DP-SGD at ``noise_multiplier`` (without DP when it is None).

    The noise multiplier comes from the budget plan (``traumasynth.privacy.plan``), calibrated on
    exactly the sampling rate and steps this loop takes, so the composed ε is known before training.

    Args:
        task: network, per-example criterion and batch builder of the model.
        dataset: the encoded training rows as tensors (CPU).
        params: section ``train_dp_tabular`` (δ, accountant, clipping, epochs, batch, lr...).
        noise_multiplier: DP-SGD noise (σ / clipping norm); ``None`` trains without DP.
        device: where to train (see :func:`resolve_device`).
        seed: seeds batch sampling, model noise and (without ``secure_mode``) DP noise.
        desc: label of the progress bar.

    Returns:
        The run's privacy and speed figures, with the ε read back from the accountant.

    Raises:
        PrivacyBudgetError: invalid ε/δ (see :func:`check_privacy_inputs`).
        ParamsError: batch larger than the dataset.
        TrainingError: the loss became NaN/inf, or the network has layers Opacus cannot handle.
    """
    n_rows = len(dataset)
    params = resolve_batch_size(params, n_rows=n_rows)
    assert params.batch_size is not None  # resolve_batch_size filled it in
    check_privacy_inputs(epsilon=params.epsilon, delta=params.delta, n_rows=n_rows, batch_size=params.batch_size)
    dp = noise_multiplier is not None
    # Opacus draws Poisson batches from the global generator when not in secure mode: keyed under DP.
    seed_everything(keyed_seed("dp-sgd batches", seed) if dp else seed)
    module = task.module.to(device)
    module.train()
    criterion = task.criterion.to(device)
    criterion.reduction = "mean"  # Opacus' ghost wrapper checks it, then switches to "none" per call
    _validate_module(module)
    optimizer: torch.optim.Optimizer = torch.optim.Adam(module.parameters(), lr=params.lr)
    loader_gen = torch.Generator().manual_seed(seed)
    loader = DataLoader(dataset, batch_size=params.batch_size, shuffle=True, generator=loader_gen)
    batch_gen = torch.Generator().manual_seed(seed + 1)
    engine: PrivacyEngine | None = None
    train_module: nn.Module = module
    loss_fn: Any = criterion
    if dp:
        engine = _make_engine(params)
        noise_gen = (
            None if params.secure_mode else torch.Generator(device=device).manual_seed(keyed_seed("dp-sgd noise", seed))
        )
        prepared = engine.make_private(
            module=module,
            optimizer=optimizer,
            data_loader=loader,
            criterion=criterion,
            noise_multiplier=noise_multiplier,
            max_grad_norm=params.max_grad_norm,
            poisson_sampling=True,
            grad_sample_mode=params.grad_sample_mode,
            noise_generator=noise_gen,
        )
        if params.grad_sample_mode == "ghost":
            train_module, optimizer, loss_fn, loader = prepared
        else:
            train_module, optimizer, loader = prepared
        logger.info(
            "DP-SGD: noise multiplier %.4f, sample rate %.5f, %s accountant, %s clipping",
            noise_multiplier,
            1 / len(loader),
            params.accountant,
            params.grad_sample_mode,
        )
    else:
        logger.info("Training without differential privacy (train_dp_tabular.epsilon is null): a reference only.")

    steps = 0
    curve: list[tuple[int, float]] = []
    start, cpu_start = time.perf_counter(), time.process_time()
    bar = tqdm(range(1, params.epochs + 1), desc=desc, unit="epoch", leave=False)
    try:
        for epoch in bar:
            total, seen = 0.0, 0
            for raw in loader:
                batch = tuple(t.to(device) for t in raw)
                size = _batch_size_of(batch)
                optimizer.zero_grad(set_to_none=True)
                if size == 0:
                    # A Poisson draw can be empty: the DP optimizer still takes (and accounts) a noisy step.
                    _empty_step(optimizer, dp, ghost=params.grad_sample_mode == "ghost")
                    steps += 1
                    continue
                inputs, target = task.make_batch(batch, batch_gen)
                output = train_module(*inputs)  # packed [B, D]
                loss = loss_fn(output, target)
                value = float(loss.item())
                if not math.isfinite(value):
                    raise TrainingError(
                        f"The training loss became {value} at epoch {epoch}, step {steps + 1}. Nothing was saved. "
                        f"Lower train_dp_tabular.lr (now {params.lr:g}) or check the data for extreme values."
                    )
                loss.backward()
                optimizer.step()
                steps += 1
                total += value * size
                seen += size
            epoch_loss = total / max(seen, 1)
            curve.append((epoch, epoch_loss))
            bar.set_postfix(loss=f"{epoch_loss:.4f}")
    finally:
        bar.close()
        close = getattr(train_module, "_close", None) if train_module is not module else None
        if callable(close):
            close()  # removes Opacus hooks and per-sample buffers from the parameters
        criterion.reduction = "mean"
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    module.eval()
    epsilon = float(engine.get_epsilon(params.delta)) if engine is not None else None
    sample_rate = 1 / len(loader)
    if epsilon is not None:
        logger.info("ε of the DP-SGD steps alone: %.4f at δ=%g after %d steps", epsilon, params.delta, steps)
    return TrainResult(
        dp=dp,
        epsilon=epsilon,
        delta=params.delta if dp else None,
        noise_multiplier=float(noise_multiplier) if noise_multiplier is not None else 0.0,
        sample_rate=sample_rate,
        steps=steps,
        epochs=params.epochs,
        batch_size=params.batch_size,
        max_grad_norm=params.max_grad_norm if dp else None,
        accountant=params.accountant if dp else None,
        grad_sample_mode=params.grad_sample_mode if dp else None,
        final_loss=curve[-1][1] if curve else float("nan"),
        train_seconds=seconds,
        rows_per_second=n_rows * params.epochs / seconds if seconds > 0 else float("inf"),
        n_rows=n_rows,
        device=str(device),
        loss_curve=curve,
        cpu_seconds=cpu_seconds,
    )


def _empty_step(optimizer: torch.optim.Optimizer, dp: bool, ghost: bool) -> None:
    """Account for an empty Poisson batch: noise-only update under DP, nothing otherwise."""
    if not dp:
        return
    # No example, no gradient: Opacus adds pure noise, which is what the accountant assumes.
    # The ghost-clipping optimizer reads `grad`, the hooks/functorch one `grad_sample`.
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.requires_grad:
                p.grad = torch.zeros_like(p)
                if not ghost:
                    p.grad_sample = torch.zeros((0, *p.shape), device=p.device, dtype=p.dtype)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)

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
noise key and the release's seed (``traumasynth.privacy.keys``: ``base.seed``, the model, the
training rows and every budget parameter): the same key, rows and parameters give the same
model, which DVC and reviewers rely on; ``base.seed`` alone predicts nothing, and any change
to the release draws fresh noise.
Floating-point Gaussian sampling can still leak through its low-order bits (Mironov 2012).
``secure_mode: true`` makes Opacus draw from ``/dev/urandom`` through ``torchcsprng`` with
noise resistant to floating-point attacks, but ``torchcsprng`` has had no release for
current torch.
"""

from __future__ import annotations

import functools
import logging
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

from traumasynth.core.errors import PrivacyBudgetError, TrainingError
from traumasynth.core.seed import seed_everything
from traumasynth.privacy.checkpoint import LoopControl, checkpoint_key, remove_checkpoint
from traumasynth.privacy.inputs import check_privacy_inputs, resolve_batch_size
from traumasynth.privacy.keys import keyed_seed
from traumasynth.privacy.settings import DPSettings
from traumasynth.privacy.sgd_loop import SGDLoop, run_epochs
from traumasynth.privacy.task import DPTask

logger = logging.getLogger(__name__)


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
    sgd_seconds: float = 0.0  # wall time of the DP-SGD loop alone (train_seconds adds the prior and pre-training)
    #: Set only by a benchmark run stopped after this many DP-SGD steps (``--max-steps``): not a release.
    step_limit: int | None = None
    budget: dict[str, Any] | None = None  # the budget plan (traumasynth.privacy.plan.BudgetPlan.to_metrics)

    #: Fields that are exact statistics of the private rows (or reveal their number): they go to the
    #: custodian's ``metrics/train_<model>.json`` only, never into the model folder (:meth:`to_model_meta`).
    EXACT_FIELDS = (
        "n_rows",
        "batch_size",
        "final_loss",
        "train_seconds",
        "rows_per_second",
        "cpu_seconds",
        "sgd_seconds",
        "step_limit",
    )

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
            "sgd_seconds": round(self.sgd_seconds, 3),
            "n_rows": self.n_rows,
            "device": self.device,
            "budget": self.budget,
        } | ({} if self.step_limit is None else {"step_limit": self.step_limit})


def _make_engine(params: DPSettings) -> PrivacyEngine:
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


def make_private_loop(
    *,
    task: DPTask,
    dataset: TensorDataset,
    params: DPSettings,
    device: torch.device,
    seed: int,
    noise_multiplier: float | None,
) -> SGDLoop:
    """The Opacus wiring: validated module, Adam, and (under DP) Poisson batches, clipping and keyed noise.

    Under DP every generator is keyed by the custodian's secret (``traumasynth.privacy.keys``):
    Opacus's ``DPDataLoader`` samples its Poisson batches with the DataLoader's own generator when
    ``secure_mode`` is off, so that generator is keyed, not seeded with ``seed`` itself.
    """
    dp = noise_multiplier is not None
    seed_everything(keyed_seed("dp-sgd global", seed) if dp else seed)  # dropout and any global draw
    module = task.module.to(device)
    module.train()
    criterion = task.criterion.to(device)
    criterion.reduction = "mean"  # Opacus' ghost wrapper checks it, then switches to "none" per call
    _validate_module(module)
    optimizer: torch.optim.Optimizer = torch.optim.Adam(module.parameters(), lr=params.lr)
    loader_gen = torch.Generator().manual_seed(keyed_seed("dp-sgd batches", seed) if dp else seed)
    loader = DataLoader(dataset, batch_size=params.batch_size, shuffle=True, generator=loader_gen)
    if not dp:
        # a reference model (train_dp_tabular.epsilon null: training.py says so) or pre-training on released rows
        logger.debug("Training without per-example clipping or noise")
        return SGDLoop(module, optimizer, criterion, loader, None, {"batches": loader_gen})
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
        private_module, private_optimizer, loss_fn, private_loader = prepared
    else:
        (private_module, private_optimizer, private_loader), loss_fn = prepared, criterion
    logger.info(
        "DP-SGD: noise multiplier %.4f, sample rate %.5f, %s accountant, %s clipping",
        noise_multiplier,
        1 / len(private_loader),
        params.accountant,
        params.grad_sample_mode,
    )
    generators = {"batches": loader_gen} | ({} if noise_gen is None else {"dp noise": noise_gen})
    return SGDLoop(private_module, private_optimizer, loss_fn, private_loader, engine, generators)


@_understood_opacus_warnings
def train_dp(
    *,
    task: DPTask,
    dataset: TensorDataset,
    params: DPSettings,
    device: torch.device,
    seed: int,
    noise_multiplier: float | None,
    desc: str = "training",
    control: LoopControl | None = None,
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
        seed: the release's seed (``traumasynth.privacy.keys.release_seed``); under DP it reaches
            the batches, the model's noise and the DP noise only through the custodian's key.
        desc: label of the progress bar.
        control: an early stop for benchmarks (``max_steps``: the run is then not the planned
            release, and the result says so in ``step_limit``) and the checkpoint that lets an
            interrupted run resume (``traumasynth.privacy.checkpoint``).

    Returns:
        The run's privacy and speed figures, with the ε read back from the accountant.

    Raises:
        PrivacyBudgetError: invalid δ (see :func:`check_privacy_inputs`).
        ParamsError: batch larger than the dataset.
        TrainingError: the loss became NaN/inf, or the network has layers Opacus cannot handle.
    """
    n_rows = len(dataset)
    params = resolve_batch_size(params, n_rows=n_rows)
    assert params.batch_size is not None  # resolve_batch_size filled it in
    check_privacy_inputs(epsilon=params.epsilon, delta=params.delta, n_rows=n_rows, batch_size=params.batch_size)
    dp = noise_multiplier is not None
    control = control or LoopControl()
    key = ""
    if control.resumable:  # the starting weights, rows, settings and seed, before Opacus wraps anything
        settings = f"{params.model_dump_json()}|{noise_multiplier!r}"
        key = checkpoint_key(module=task.module, dataset=dataset, settings=settings, seed=seed, desc=desc)
    loop = make_private_loop(
        task=task, dataset=dataset, params=params, device=device, seed=seed, noise_multiplier=noise_multiplier
    )
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        steps, curve = run_epochs(
            loop=loop, task=task, params=params, device=device, seed=seed, desc=desc, control=control, key=key
        )
    finally:
        close = getattr(loop.module, "_close", None) if loop.module is not task.module else None
        if callable(close):
            close()  # removes Opacus hooks and per-sample buffers from the parameters
        task.criterion.reduction = "mean"
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    if control.resumable:
        remove_checkpoint(control.checkpoint)  # finished: nothing to resume, and it holds the noise states
    task.module.eval()
    epsilon = float(loop.engine.get_epsilon(params.delta)) if loop.engine is not None else None
    if epsilon is not None:
        logger.info("ε of the DP-SGD steps alone: %.4f at δ=%g after %d steps", epsilon, params.delta, steps)
    return TrainResult(
        dp=dp,
        epsilon=epsilon,
        delta=params.delta if dp else None,
        noise_multiplier=float(noise_multiplier) if noise_multiplier is not None else 0.0,
        sample_rate=1 / len(loop.loader),
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
        sgd_seconds=seconds,
        step_limit=control.max_steps,
    )

"""Networks trained with DP-SGD on top of a DP marginal prior (the VAE and the DDPM).

Training runs under one budget plan (``traumasynth.privacy.plan``):

1. **Prior.** At ``prior_share`` of the budget, either (``prior: marginals``, the default)
   the class-conditional marginals of every encoded slot (the ``marginals`` model's
   release), or (``prior: joint``) a graphical model of the class, every column and a tree
   of column pairs, released with Gaussian noise and estimated with Private-PGM
   (``traumasynth.models.joint_prior``).
2. **Offset and pre-training.** The network works on the all-categorical grid view of the
   table (``traumasynth.models.codec``) and adds the prior's class-conditional
   log-probabilities to its output logits; its last layer starts at zero, so before any
   DP-SGD step the model *is* the prior's marginals. With the joint prior the network is
   then trained, without DP, on rows drawn from the prior (post-processing: no privacy
   cost), so it starts from the prior's joint.
3. **DP-SGD.** The network is trained on the real rows with DP-SGD, whose noise the plan
   calibrates so that histogram + prior + DP-SGD compose to at most the target ε. It learns
   only the residual: the dependence between columns that the marginals cannot hold.

A model supplies its :class:`~traumasynth.privacy.dp.DPTask` (:meth:`_task`) and draws rows
in the grid view (:meth:`_sample_codes`); its network holds the prior as a ``log_prior``
buffer ``[K + 1, W]``. Its config derives from :class:`SGDModelConfig`, whose schedule
fields override the shared ones of ``train_dp_tabular`` for that model alone.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from abc import abstractmethod
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from pydantic import Field
from torch.utils.data import TensorDataset

from traumasynth.core.errors import NotFittedError
from traumasynth.core.params import FrozenParams
from traumasynth.encoding.table import EncodedTable
from traumasynth.models.base import Synthesizer
from traumasynth.models.codec import GridCodec
from traumasynth.models.joint_prior import JointPrior, JointPriorConfig
from traumasynth.models.marginals import MarginalsSynthesizer
from traumasynth.privacy.checkpoint import LoopControl
from traumasynth.privacy.dp import TrainResult, train_dp
from traumasynth.privacy.inputs import resolve_batch_size
from traumasynth.privacy.keys import keyed_rng, keyed_seed
from traumasynth.privacy.plan import BudgetPlan, SGDShape, plan_budget
from traumasynth.privacy.settings import DPSettings
from traumasynth.privacy.task import DPTask

logger = logging.getLogger(__name__)


class SGDModelConfig(FrozenParams):
    """Settings every DP-SGD model shares (in its own sub-section of ``train_dp_tabular``).

    Attributes:
        prior_share: share of the budget (of Gaussian-DP ``mu^2``) for the prior the network's
            logits are offset by (and, ``joint``, pre-trained on); null: no prior.
        prior: ``marginals`` (class-conditional marginals only) or ``joint`` (class, columns
            and a tree of column pairs, Private-PGM; the network is pre-trained on its rows).
        joint_prior: the joint prior's grid, budget split and pre-training (``JointPriorConfig``).
        epochs: DP-SGD passes over the real rows; null = ``train_dp_tabular.epochs``.
        batch_size: DP-SGD expected batch; null = ``train_dp_tabular.batch_size``.
        lr: DP-SGD Adam learning rate; null = ``train_dp_tabular.lr``.
        max_grad_norm: clipping norm; null = ``train_dp_tabular.max_grad_norm``.
    """

    prior_share: float | None = Field(default=0.95, gt=0, lt=1)
    prior: Literal["marginals", "joint"] = "marginals"
    joint_prior: JointPriorConfig = Field(default_factory=JointPriorConfig)
    epochs: int | None = Field(default=None, ge=1)
    batch_size: int | None = Field(default=None, ge=1)
    lr: float | None = Field(default=None, gt=0)
    max_grad_norm: float | None = Field(default=None, gt=0)


def effective_params(params: DPSettings, config: SGDModelConfig, *, n_rows: int) -> DPSettings:
    """``train_dp_tabular`` with the model's own schedule fields in place of the shared ones.

    A batch size left null everywhere becomes ``auto_batch_size(n_rows)``.
    """
    update = {
        key: getattr(config, key)
        for key in ("epochs", "batch_size", "lr", "max_grad_norm")
        if getattr(config, key) is not None
    }
    return resolve_batch_size(params.model_copy(update=update), n_rows=n_rows)


class DPSGDSynthesizer(Synthesizer):
    """A synthesizer whose network adds a DP marginal prior to its logits and is trained with DP-SGD."""

    config: SGDModelConfig
    #: Epochs of pre-training on the joint prior's rows when ``joint_prior.epochs`` is null.
    pretrain_epochs: int = 100
    #: Class mix of the DP prior's release (set by ``_fit``, saved in ``meta.json``); None without a prior.
    _class_mix: np.ndarray | None = None

    @property
    def codec(self) -> GridCodec:
        """The grid view of ``self.encoder`` (public: spec bounds and levels only)."""
        cached = getattr(self, "_codec", None)
        if cached is None or cached.encoder is not self.encoder:
            cached = GridCodec(self.encoder)
            self._codec = cached
        return cached

    @abstractmethod
    def _task(self) -> DPTask:
        """The network, its per-example criterion and its batch builder (on the grid view)."""

    @abstractmethod
    def _sample_codes(self, y: torch.Tensor, *, generator: torch.Generator) -> EncodedTable:
        """Rows of classes ``y`` in the grid view (``x_num`` empty)."""

    def _sample_encoded(self, y: torch.Tensor, *, generator: torch.Generator) -> EncodedTable:
        return self.codec.from_codes(self._sample_codes(y, generator=generator), generator=generator)

    def plan(self, *, params: DPSettings, n_rows: int) -> BudgetPlan | None:
        """The budget plan of a run on ``n_rows`` rows (``None`` without DP)."""
        if params.epsilon is None:
            return None
        run = effective_params(params, self.config, n_rows=n_rows)
        assert run.batch_size is not None  # effective_params resolves a null batch size
        return plan_budget(
            epsilon=params.epsilon,
            delta=params.delta,
            histogram_share=params.histogram_share,
            prior_share=self.config.prior_share,
            sgd=SGDShape.for_loader(n_rows=n_rows, batch_size=run.batch_size, epochs=run.epochs),
            accountant=params.accountant,
        )

    def _class_probabilities(self) -> np.ndarray:
        """Class mix of ``sample`` without conditions: the prior's release, else the network's own."""
        return self._class_mix if self._class_mix is not None else self._network_class_probabilities()

    def _network_class_probabilities(self) -> np.ndarray:
        """Class mix without a prior (``prior_share: null``); default uniform."""
        return super()._class_probabilities()

    def _extra_state(self) -> dict[str, Any]:
        return {} if self._class_mix is None else {"class_mix": [float(v) for v in self._class_mix]}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        if "class_mix" in state:
            self._class_mix = np.asarray(state["class_mix"], dtype=np.float64)

    def per_example_loss(self, data: pd.DataFrame, *, draws: int = 16, seed: int = 0) -> np.ndarray:
        """Each row's training loss under the fitted network, averaged over ``draws`` noise draws: ``[N]``.

        The criterion DP-SGD minimised (the VAE's negative ELBO, the DDPM's denoising loss) with the
        model's own per-batch noise drawn from a generator seeded by ``seed``, so the same rows and
        seed give the same losses. Lower means the model fits the row better (the membership score
        of ``traumasynth.experiments.privacy_audit``).

        Raises:
            NotFittedError: the model was neither fitted nor loaded.
            SchemaError: ``data`` does not match the spec.
        """
        if not self.is_fitted:
            raise NotFittedError(f"The {self.name} synthesizer is not trained. Call fit() or load() first.")
        codes = self.codec.to_codes(self.encoder.encode(data))
        batch = (torch.from_numpy(codes.x_num), torch.from_numpy(codes.x_cat), torch.from_numpy(codes.y))
        task = self._task()
        task.criterion.reduction = "none"
        generator = torch.Generator().manual_seed(seed)
        self.network.eval()
        total = torch.zeros(len(codes), dtype=torch.float64)
        with torch.no_grad():
            for _ in range(draws):
                inputs, target = task.make_batch(batch, generator)
                total += task.criterion(self.network(*inputs), target).double()  # [N]
        return (total / draws).numpy()

    def _fit(
        self,
        enc: EncodedTable,
        *,
        params: DPSettings,
        device: torch.device,
        seed: int,
        control: LoopControl | None = None,
    ) -> TrainResult:
        start = time.perf_counter()
        run = effective_params(params, self.config, n_rows=len(enc))
        plan = self.plan(params=params, n_rows=len(enc))
        joint = None
        if self.config.prior_share is not None:
            joint = self._release_prior(
                enc, prior_noise=None if plan is None else plan.prior_noise, seed=seed, run=run, device=device
            )
        if plan is not None:
            logger.info(
                "Budget plan: ε %.4f of %g (δ %g): histogram σ/Δ %.2f, prior %s, DP-SGD %.3f x %d steps at q=%.4f",
                plan.epsilon,
                plan.epsilon_target,
                plan.delta,
                plan.histogram_noise,
                "none" if plan.prior_noise is None else f"{plan.prior_noise:.2f}",
                plan.sgd_noise,
                plan.sgd.steps if plan.sgd else 0,
                plan.sgd.sample_rate if plan.sgd else 0.0,
            )
        codes = self.codec.to_codes(enc)
        dataset = TensorDataset(torch.from_numpy(codes.x_num), torch.from_numpy(codes.x_cat), torch.from_numpy(codes.y))
        result = train_dp(
            task=self._task(),
            dataset=dataset,
            params=run,
            device=device,
            seed=seed,
            noise_multiplier=None if plan is None else plan.sgd_noise,
            desc=self.name,
            control=control,
        )
        if joint is not None:
            self._keep_from_prior(joint, seed=keyed_seed("joint prior rows after training", seed) if plan else seed + 1)
        if (
            (control is None or control.max_steps is None)
            and plan is not None
            and plan.sgd is not None
            and result.steps != plan.sgd.steps
        ):
            raise RuntimeError(  # pragma: no cover - the plan mirrors Opacus' loader
                f"DP-SGD took {result.steps} steps, the budget plan {plan.sgd.steps}: the accounting would be wrong."
            )
        seconds = time.perf_counter() - start  # the prior and any pre-training included
        return dataclasses.replace(
            result,
            train_seconds=seconds,
            rows_per_second=len(enc) / seconds if seconds > 0 else 0.0,
            epsilon=None if plan is None else plan.epsilon,
            delta=None if plan is None else plan.delta,
            budget=None if plan is None else plan.to_metrics(),
        )

    def _release_prior(
        self, enc: EncodedTable, *, prior_noise: float | None, seed: int, run: DPSettings, device: torch.device
    ) -> JointPrior | None:
        """Release the prior at ``prior_noise``, set the logits' offset and (joint) pre-train the network on it.

        Returns the joint prior (``prior: joint``), else None.
        """
        dp = prior_noise is not None
        if self.config.prior == "marginals":
            prior = MarginalsSynthesizer(spec=self.spec)
            prior.release(
                enc,
                noise_multiplier=prior_noise,
                rng=keyed_rng("marginal prior", seed) if dp else np.random.default_rng(seed),
            )
            self._set_offset(prior)
            return None
        cfg = self.config.joint_prior
        joint = JointPrior(self.spec, cfg).fit(
            enc, noise_multiplier=prior_noise, rng=keyed_rng("joint prior", seed) if dp else np.random.default_rng(seed)
        )
        # Everything below reads only the release; under DP its randomness is keyed (never a function of the rows).
        draw_seed = keyed_seed("joint prior rows", seed) if dp else seed
        rows = joint.draw(cfg.rows or 2 * len(enc), seed=draw_seed)
        marginals = MarginalsSynthesizer(spec=self.spec)
        marginals.release(rows, noise_multiplier=None, rng=np.random.default_rng(0))  # exact counts of drawn rows
        self._set_offset(marginals)
        codes = self.codec.to_codes(rows)
        epochs = cfg.epochs or self.pretrain_epochs
        logger.info(
            "Pre-training %s on %d rows drawn from the joint prior (%d epochs, no privacy cost)",
            self.name,
            len(rows),
            epochs,
        )
        train_dp(
            task=self._task(),
            dataset=TensorDataset(
                torch.from_numpy(codes.x_num), torch.from_numpy(codes.x_cat), torch.from_numpy(codes.y)
            ),
            params=run.model_copy(update={"epochs": epochs}),
            device=device,
            seed=keyed_seed("joint prior pre-training", seed) if dp else seed,
            noise_multiplier=None,
            desc=f"{self.name} pre-training",
        )
        return joint

    def _buffers(self, *names: str) -> tuple[torch.Tensor, ...] | None:
        """The network's buffers ``names`` (saved with the weights), or None when it was built without them."""
        if names[0] not in dict(self.network.named_buffers()):
            return None
        return tuple(self.network.get_buffer(name) for name in names)

    def _keep_from_prior(self, joint: JointPrior, *, seed: int) -> None:  # noqa: B027 (optional hook)
        """After DP-SGD, keep what sampling needs of the joint prior (post-processing; default: nothing).

        Args:
            joint: the released prior.
            seed: seed of any draw from it (keyed under DP).
        """

    def _set_offset(self, prior: MarginalsSynthesizer) -> None:
        with torch.no_grad():
            self.network.get_buffer("log_prior").copy_(self.codec.log_prior(prior))
        self._class_mix = prior.class_mix()  # the release's class totals: no extra budget


def bank_picks(bank_classes: torch.Tensor, y: torch.Tensor, *, generator: torch.Generator) -> torch.Tensor:
    """For each row of classes ``y``, a uniformly drawn entry of a prior-row bank of the same class.

    Returns ``[len(y)]`` indices into the bank; -1 where the bank holds no entry of the row's class.
    """
    pick = torch.full((len(y),), -1, dtype=torch.long)
    for k in torch.unique(y).tolist():
        entries = torch.nonzero(bank_classes == k).squeeze(1)
        if len(entries):
            rows = torch.nonzero(y == k).squeeze(1)
            pick[rows] = entries[torch.randint(len(entries), (len(rows),), generator=generator)]
    return pick

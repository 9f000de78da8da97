"""A DP floor synthesizer: class-conditional independent marginals from one noisy histogram release.

For each target class and each encoded slot (see ``traumasynth.encoding``) the model keeps
a histogram; sampling draws every slot independently given the class. It captures the
class-conditional marginals and nothing of the dependence between columns, which makes
it the floor a generative model must beat, and a fast, light model for tests.

Bins are public: a categorical slot has its spec levels; a numeric slot (scaled to
``[-1, 1]`` with spec bounds) has ``n_bins`` equal-width bins, or one point per value when
it is an untransformed integer (or datetime part) with at most ``max_points`` values
(the public grid, ``traumasynth.encoding.grid``).
A column's ``__missing__`` indicator is released as one more cell of its first numeric slot
(present values in the bins, missing rows in the extra cell), not as a histogram of its own;
the indicator's counts are then read off that cell (post-processing).

Privacy: one row adds 1 to exactly one cell of each released histogram of its class, so
the concatenation of all histograms has L2 sensitivity ``sqrt(S)`` (``S`` = number of
released histograms: the slots less the indicators merged into a numeric slot, which
takes the simulator's 32 slots to 24 and its noise down by 13 %). The release's budget (a
Gaussian-DP ``mu``, from the budget plan ``traumasynth.privacy.plan``) is spent in two
Gaussian releases: a probe of every histogram alike, then the rest weighted toward the
histograms the probe shows to tell the classes apart (``probe_share``; see
:meth:`MarginalsSynthesizer._noisy_counts`). The release and the sampling stage's class
histogram together spend exactly the training ``(epsilon, delta)``. The VAE and the DDPM use
the same release, at a share of their budget, as the prior their logits are offset by
(``traumasynth.models.sgd``).
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import torch
from pydantic import Field
from torch import nn

from traumasynth.core.params import FrozenParams
from traumasynth.encoding.grid import Grid, numeric_grids
from traumasynth.encoding.table import EncodedTable
from traumasynth.models.base import Synthesizer
from traumasynth.models.postprocess import project_nonnegative, shrink_to_pooled
from traumasynth.privacy.checkpoint import LoopControl
from traumasynth.privacy.dp import TrainResult
from traumasynth.privacy.inputs import check_privacy_inputs
from traumasynth.privacy.keys import keyed_rng
from traumasynth.privacy.plan import plan_budget
from traumasynth.privacy.settings import DPSettings

logger = logging.getLogger(__name__)


class MarginalsConfig(FrozenParams):
    """Section ``train_dp_tabular.marginals``.

    Attributes:
        n_bins: equal-width bins of a continuous (or wide integer) slot on ``[-1, 1]``.
        max_points: an integer slot with at most this many values gets one bin per value.
        shrinkage: pull each class's noisy marginal toward the pooled one (``shrink_to_pooled``).
        probe_share: share of the release's budget spent on a first, even release of every
            histogram, from which the rest is weighted toward the histograms that differ most
            between classes; null: one even release. 0.2 was chosen on public data only
            (docs/privacy.md): NEISS floor TSTR at ε = 1, 8 seeds, 0.539 -> 0.575 (0.1: 0.569,
            0.35: 0.569); ε = 0.5: 0.399 -> 0.437; simulator ε = 1: 0.800 -> 0.802.
    """

    n_bins: int = Field(default=32, ge=2, le=512)
    max_points: int = Field(default=32, ge=2, le=512)
    shrinkage: bool = True
    probe_share: float | None = Field(default=0.2, gt=0, lt=1)


class _MarginalTables(nn.Module):
    """The released counts as buffers, so the base class saves them as a ``state_dict``.

    ``num_counts``: ``[K, n_num, max_num_cells]``; ``cat_counts``: ``[K, n_cat, max_levels]``;
    cells beyond a slot's size stay 0.
    """

    num_counts: torch.Tensor
    cat_counts: torch.Tensor

    def __init__(self, n_classes: int, n_num: int, num_cells: int, n_cat: int, cat_cells: int) -> None:
        super().__init__()
        self.register_buffer("num_counts", torch.zeros(n_classes, n_num, num_cells, dtype=torch.float64))
        self.register_buffer("cat_counts", torch.zeros(n_classes, n_cat, cat_cells, dtype=torch.float64))


class MarginalsSynthesizer(Synthesizer):
    """Class-conditional independent marginals, released with one DP histogram (see module docstring)."""

    name = "marginals"
    config_class = MarginalsConfig
    config: MarginalsConfig

    @property
    def tables(self) -> _MarginalTables:
        """The released counts (the network of this model)."""
        assert isinstance(self.network, _MarginalTables)
        return self.network

    @property
    def _grids(self) -> list[Grid]:
        return numeric_grids(self.spec, self.encoder.num_names, self.config)

    def _build_network(self) -> nn.Module:
        grids = self._grids
        return _MarginalTables(
            n_classes=self.encoder.n_classes,
            n_num=self.encoder.n_num,
            num_cells=max([g.size for g in grids], default=1),
            n_cat=self.encoder.n_cat,
            cat_cells=max(self.encoder.cat_sizes, default=1),
        )

    # -- fitting ---------------------------------------------------------------
    @property
    def n_released(self) -> int:
        """Histograms of one release (the ``S`` of its L2 sensitivity ``sqrt(S)``)."""
        return self.encoder.n_num + self.encoder.n_cat - len(self._indicators()[1])

    def _indicators(self) -> tuple[list[int | None], dict[int, int]]:
        """Each numeric slot's missing-indicator (categorical index, or None) and the merged ones.

        Returns ``(indicator_of_num, merged)``: ``merged`` maps a categorical indicator to the
        first numeric slot of its column, whose released histogram carries it as an extra cell.
        """
        cat_pos = {name: i for i, name in enumerate(self.encoder.cat_names)}
        indicator_of_num: list[int | None] = []
        merged: dict[int, int] = {}
        for j, slot in enumerate(self.encoder.num_names):
            indicator = cat_pos.get(f"{slot.partition('.')[0]}.__missing__")
            indicator_of_num.append(indicator)
            if indicator is not None and indicator not in merged:
                merged[indicator] = j
        return indicator_of_num, merged

    def _true_counts(self, enc: EncodedTable) -> list[np.ndarray]:
        """Exact per-class counts of every released histogram, one ``[K, cells]`` array each (private).

        Numeric slots first (the first slot of a nullable column with one extra cell: its missing
        rows), then the categorical slots that are not a merged indicator.
        """
        k = self.encoder.n_classes
        slots: list[np.ndarray] = []
        indicator_of_num, merged = self._indicators()
        carriers = set(merged.values())
        for j, (indicator, grid) in enumerate(zip(indicator_of_num, self._grids, strict=True)):
            present = np.ones(len(enc), dtype=bool) if indicator is None else enc.x_cat[:, indicator] == 0
            cells = np.full(len(enc), grid.size, dtype=np.int64)  # the extra cell: missing
            cells[present] = grid.index(enc.x_num[present, j])
            size = grid.size + 1 if j in carriers else grid.size
            keep = np.ones(len(enc), dtype=bool) if j in carriers else present
            slots.append(np.bincount(enc.y[keep] * size + cells[keep], minlength=k * size).reshape(k, -1))
        for j, size in enumerate(self.encoder.cat_sizes):
            if j not in merged:
                slots.append(np.bincount(enc.y * size + enc.x_cat[:, j], minlength=k * size).reshape(k, -1))
        return slots

    def _unmerge(self, blocks: list[np.ndarray]) -> list[np.ndarray]:
        """Released histograms back to one ``[K, cells]`` block per slot, in the encoder's order.

        A carrier's extra cell becomes its indicator's counts ``[present, missing]``; the
        carrier keeps its bins (post-processing of the release).
        """
        _, merged = self._indicators()
        carrier_of = {j: ind for ind, j in merged.items()}
        n_num = self.encoder.n_num
        nums, indicator_blocks = [], {}
        for j, block in enumerate(blocks[:n_num]):
            if j in carrier_of:
                indicator_blocks[carrier_of[j]] = np.stack([block[:, :-1].sum(axis=1), block[:, -1]], axis=1)
                block = block[:, :-1]
            nums.append(block)
        rest = iter(blocks[n_num:])
        cats = [indicator_blocks[j] if j in indicator_blocks else next(rest) for j in range(self.encoder.n_cat)]
        return nums + cats

    def release(self, enc: EncodedTable, *, noise_multiplier: float | None, rng: np.random.Generator) -> None:
        """Release the class-conditional counts of ``enc`` with Gaussian noise and store them.

        Args:
            enc: the encoded private rows.
            noise_multiplier: σ / ``sqrt(S)`` of one even release of the whole budget (from the
                budget plan); with ``probe_share`` the same Gaussian-DP budget is spent as a probe
                and a weighted release (``_noisy_counts``); ``None`` stores the exact counts (no
                DP, a reference only).
            rng: the generator of the noise.

        Each (class, slot) row of noisy counts is then projected onto the non-negative vectors
        with the same total (post-processing, no privacy cost): clipping at 0 alone would add
        about 0.4σ to every empty cell, a uniform bias that swamps a rare class. With
        ``shrinkage`` each row is then pulled toward the slot's pooled distribution over all
        classes (see :func:`shrink_to_pooled`).
        """
        true = self._true_counts(enc)
        if noise_multiplier is None:
            blocks = [t.astype(np.float64) for t in true]
        else:
            noisy, sigmas = self._noisy_counts(true, noise_multiplier=noise_multiplier, rng=rng)
            blocks = [project_nonnegative(block) for block in noisy]
            if self.config.shrinkage:
                blocks = [shrink_to_pooled(block, noise=sd) for block, sd in zip(blocks, sigmas, strict=True)]
        per_slot = self._unmerge(blocks)
        self._store(np.concatenate([b.ravel() for b in per_slot]), [b.shape[1] for b in per_slot])
        self._fitted = True

    def _noisy_counts(
        self, true: list[np.ndarray], *, noise_multiplier: float, rng: np.random.Generator
    ) -> tuple[list[np.ndarray], list[float]]:
        """Gaussian-noised copies of the histograms ``true`` and the noise σ of each.

        Without ``probe_share``: one release of all of them with σ = noise_multiplier · sqrt(S).
        With it, two releases that split the Gaussian-DP budget ``mu^2 = 1 / noise_multiplier^2``:

        1. the probe (``probe_share`` of mu^2) releases every histogram alike;
        2. from the probe alone (post-processing) each histogram's class signal is estimated,
           ``D_j = sum_kx (c_kx - n_k p_x)^2`` less what the noise adds, and the rest of the
           budget is released with weight ``w_j``, ``w_j^2 ∝ sqrt(1/S + D_j / sum D)``: the
           histograms that tell the classes apart get less noise (minimising
           ``sum_j a_j var_j`` under a fixed sensitivity gives ``w_j^2 ∝ sqrt(a_j)``);
        3. the two releases of each histogram are averaged with inverse-variance weights.

        Scaling histogram ``j`` by ``w_j`` makes the second release's L2 sensitivity
        ``sqrt(sum w_j^2)``; the two Gaussian releases compose adaptively to exactly the
        ``mu^2`` of one release at ``noise_multiplier`` (Dong, Roth & Su 2022), so the budget
        plan is unchanged. The same idea as AIM's (McKenna et al. 2022): measure what matters
        more precisely, chosen from noisy answers only.
        """
        n_hist = len(true)
        share = self.config.probe_share
        if noise_multiplier <= 0:  # no noise at all (the privacy audit's broken mechanism)
            return [t.astype(np.float64) for t in true], [0.0] * n_hist
        if not share:
            sigma = noise_multiplier * math.sqrt(n_hist)
            return [t + rng.normal(0.0, sigma, size=t.shape) for t in true], [sigma] * n_hist
        mu2 = 1.0 / noise_multiplier**2
        sigma1 = math.sqrt(n_hist / (share * mu2))
        probe = [t + rng.normal(0.0, sigma1, size=t.shape) for t in true]
        signal = []
        for block in probe:
            k, cells = block.shape
            n_k = block.sum(axis=1, keepdims=True)
            p_x = block.sum(axis=0, keepdims=True) / max(float(block.sum()), 1.0)
            energy = float(((block - n_k * p_x) ** 2).sum()) - k * cells * sigma1**2
            signal.append(max(energy, 0.0))
        total = sum(signal)
        importance = np.array([1.0 / n_hist + (d / total if total > 0 else 0.0) for d in signal])
        w2 = np.sqrt(importance)
        w2 = w2 / w2.sum()
        sigma2 = [math.sqrt(1.0 / ((1.0 - share) * mu2 * wj2)) for wj2 in w2]  # noise on block j's counts
        out, sigmas = [], []
        for t, p1, sd2 in zip(true, probe, sigma2, strict=True):
            p2 = t + rng.normal(0.0, sd2, size=t.shape)
            a, b = 1.0 / sigma1**2, 1.0 / sd2**2
            out.append((a * p1 + b * p2) / (a + b))
            sigmas.append(math.sqrt(1.0 / (a + b)))
        return out, sigmas

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
        n_rows = len(enc)
        check_privacy_inputs(epsilon=params.epsilon, delta=params.delta, n_rows=n_rows, batch_size=1)
        plan = None
        if params.epsilon is not None:
            plan = plan_budget(
                epsilon=params.epsilon,
                delta=params.delta,
                histogram_share=params.histogram_share,
                prior_share=1.0 - params.histogram_share,
                sgd=None,
            )
            logger.info(
                "Marginals: %d histograms x %d classes, Gaussian noise multiplier %.3f (ε total %.4f of %g)",
                self.n_released,
                self.encoder.n_classes,
                plan.prior_noise,
                plan.epsilon,
                params.epsilon,
            )
        else:
            logger.info("Marginals without differential privacy (train_dp_tabular.epsilon is null): a reference only.")
        rng = np.random.default_rng(seed) if plan is None else keyed_rng("marginal prior", seed)  # no key without DP
        self.release(enc, noise_multiplier=None if plan is None else plan.prior_noise, rng=rng)
        seconds = time.perf_counter() - start
        return TrainResult(
            dp=plan is not None,
            epsilon=None if plan is None else plan.epsilon,
            delta=None if plan is None else plan.delta,
            noise_multiplier=0.0 if plan is None else float(plan.prior_noise or 0.0),
            sample_rate=None,
            steps=None,
            epochs=None,
            batch_size=None,
            max_grad_norm=None,
            accountant=None if plan is None else "gaussian_release",
            grad_sample_mode=None,
            final_loss=None,  # closed-form fit: no loss (a data-dependent fit score would leak)
            train_seconds=seconds,
            rows_per_second=n_rows / seconds if seconds > 0 else 0.0,
            n_rows=n_rows,
            device="cpu",
            loss_curve=[],
            budget=None if plan is None else plan.to_metrics(),
        )

    def _store(self, released: np.ndarray, sizes: list[int]) -> None:
        tables = self.tables
        k = self.encoder.n_classes
        offset = 0
        for j, size in enumerate(sizes):
            block = torch.from_numpy(released[offset : offset + k * size].reshape(k, size).astype(np.float64))
            offset += k * size
            if j < self.encoder.n_num:
                tables.num_counts[:, j, :size] = block
            else:
                tables.cat_counts[:, j - self.encoder.n_num, :size] = block

    # -- sampling --------------------------------------------------------------
    @staticmethod
    def _draw(counts: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One cell per row from its class's row of ``counts`` ``[K, cells]`` (uniform if all zero).

        Inverse-CDF sampling on the integer cumulative counts (exact in float64): far faster
        than ``torch.multinomial`` on one row of probabilities per sample.
        """
        weights = counts.clone()
        weights[weights.sum(dim=1) <= 0] = 1.0  # an all-zero noisy class: uniform over the public cells
        cumulative = weights.cumsum(dim=1)  # [K, cells]
        total = cumulative[:, -1]  # [K]
        last = weights.shape[1] - 1 - torch.argmax((weights.flip(1) > 0).to(torch.int64), dim=1)  # last non-empty cell
        u = torch.rand(y.shape, generator=generator, dtype=torch.float64) * total[y]  # [N]
        cells = torch.searchsorted(cumulative[y], u.unsqueeze(1), right=True).squeeze(1)  # [N]
        return torch.minimum(cells, last[y])

    def _sample_encoded(self, y: torch.Tensor, *, generator: torch.Generator) -> EncodedTable:
        tables = self.tables
        n = int(y.shape[0])
        x_num = torch.zeros(n, self.encoder.n_num, dtype=torch.float64)
        x_cat = torch.zeros(n, self.encoder.n_cat, dtype=torch.int64)
        if n:
            for j, grid in enumerate(self._grids):
                cells = self._draw(tables.num_counts[:, j, : grid.size], y, generator)
                x_num[:, j] = grid.value(cells, generator=generator)
            for j, size in enumerate(self.encoder.cat_sizes):
                x_cat[:, j] = self._draw(tables.cat_counts[:, j, :size], y, generator)
        return EncodedTable(
            x_num=x_num.numpy().astype(np.float32),
            x_cat=x_cat.numpy(),
            y=y.numpy().astype(np.int64),
        )

    def draw_encoded(self, y: torch.Tensor, *, generator: torch.Generator) -> EncodedTable:
        """Encoded rows of classes ``y`` drawn from the released marginals (post-processing only)."""
        return self._sample_encoded(y, generator=generator)

    def class_probabilities(self) -> np.ndarray:
        """The class mix of the released counts (post-processing only)."""
        return self._class_probabilities()

    def class_mix(self) -> np.ndarray:
        """The class mix of the released counts (post-processing; uniform before a release)."""
        return self._class_probabilities()

    def _class_probabilities(self) -> np.ndarray:
        """Class mix from the released counts (post-processing): mean class total over slots.

        Categorical slots count every row (numeric ones skip missing values), so they are used when present.
        """
        tables = self.tables
        counts = tables.cat_counts if self.encoder.n_cat else tables.num_counts
        per_class = counts.sum(dim=2).mean(dim=1).numpy()
        if per_class.sum() <= 0:
            return super()._class_probabilities()
        return per_class / per_class.sum()

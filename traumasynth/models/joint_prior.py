"""A DP graphical-model prior: how the columns go together, released with Gaussian noise and estimated by Private-PGM.

The class × column marginals alone (the ``marginals`` floor) hold nothing of the dependence
between columns. This prior adds a tree of column pairs, then the pairs that tree explains
worst, each chosen and measured under DP, and fits one joint distribution to every noisy
measurement with Private-PGM (``mbi``; McKenna, Sheldon and Miklau 2019, the estimator inside
MST and AIM). The DP-SGD models train their network on rows drawn from it before they see a
real row (post-processing, no privacy cost), so they start from the joint instead of from the
independent marginals.

On the discrete view of the table (``traumasynth.encoding.discrete.DiscreteLayout``: the spec's
public grid, missing as its own code), five Gaussian releases share the prior's budget
(Gaussian-DP ``mu``; one added or removed row changes each count below by at most 1):

1. **Class × column.** The counts of (target, column) for every column, at ``one_way_share``
   of ``mu^2`` (L2 sensitivity ``sqrt(F)`` for ``F`` columns).
2. **Selection.** For every column pair, the L1 distance between its class × pair counts and
   what step 1's release predicts if the pair were independent given the class, less the
   distance sampling alone would give (a public function of the release): at
   ``selection_share`` (each score moves by at most 1, sensitivity ``sqrt(pairs)``). The
   maximum spanning tree of the noisy scores is post-processing (as in MST, Gaussian noise
   instead of the exponential mechanism, so that the plan composes every release exactly).
3. **Pairs.** The counts of each tree pair, on a grid coarsened to at most ``pair_cells``
   cells per column (sensitivity ``sqrt(F - 1)``).
4. **Second selection** (AIM's idea, McKenna et al. 2022: measure where the model is worst).
   Private-PGM fits the tree; for every pair not yet measured, the L1 distance between its
   counts and what that fit predicts, less what sampling alone gives, at
   ``extra_selection_share`` (sensitivity ``sqrt(candidates)``). The ``extra_pairs`` highest
   noisy scores are kept (post-processing), skipping any that would grow Private-PGM's junction
   tree past ``max_model_mb``.
5. **More pairs.** The counts of those pairs. Steps 3 and 5 share what the other steps leave,
   in proportion to their number of pairs, so every pair is measured with the same noise.

Private-PGM fits the joint on the coarsened grid (small cliques: seconds, not minutes, of
JAX compilation); a drawn row then gets its fine cell within each coarse one from the class ×
column release (post-processing), so every column keeps its full class-conditional shape.

The clinical rules of the spec (``constraints``) are public: with ``within_rules`` a drawn row
that breaks one is drawn again (post-processing), so the networks learn from, and start their
samples at, rows that cannot be clinically impossible.

The five compose to exactly one Gaussian release at the prior's ``mu`` (Dong, Roth and Su
2022), which is what the budget plan (``traumasynth.privacy.plan``) accounts for; each step's
noise is fixed before it runs (the second selection always scores every pair not in the tree).
Where the size cap skips a pair, its share is left unspent: the release is then at most ``mu``.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from pydantic import Field, model_validator

from traumasynth.core.params import FrozenParams
from traumasynth.encoding.discrete import DiscreteLayout
from traumasynth.encoding.table import EncodedTable
from traumasynth.spec import DatasetSpec
from traumasynth.spec.constraints import check_constraints

logger = logging.getLogger(__name__)


class JointPriorConfig(FrozenParams):
    """Sub-section ``joint_prior`` of a DP-SGD model (``train_dp_tabular.vae.joint_prior``...).

    Attributes:
        n_bins: equal-width bins of a continuous (or wide integer) column on its spec bounds.
        max_points: an integer column with at most this many values keeps one code per value.
        pair_cells: cells per column in the pair measurements; a wider column is coarsened
            (neighbouring cells merged) so that each pair count holds more rows than noise.
        one_way_share: share of the prior's budget (of ``mu^2``) for the class × column counts.
            0.7 (was 0.4): on both public tables at ε = 1 and 4, TSTR +0.03-0.05 and 2-way TVD
            no worse (docs/privacy.md, "Choosing the joint prior's split").
        selection_share: share for choosing the tree; the rest (less ``extra_selection_share``)
            measures the pairs.
        extra_pairs: pairs measured after the tree, where its fit is worst (0: the tree alone).
            12: on the prior's own draws (3 seeds, both public tables, ε = 1 and 4) 2-way TVD
            0.004-0.006 lower at ε = 4 and 0.001-0.004 at ε = 1, TSTR no lower (docs/privacy.md).
        extra_selection_share: share for choosing those pairs.
        numeric_cells: how a numeric column wider than ``pair_cells`` is cut for the pair counts:
            ``width``, runs of as many cells each; ``mass``, runs of neighbouring cells of about
            equal released mass (post-processing of its class × column counts: the cells where
            the patients are stay apart, sparse tails are pooled). ``mass`` keeps more of how
            vital signs go together (simulator, ε = 3: SDMetrics pair trends of the prior's draws
            0.918 -> 0.925, heart rate × respiratory rate correlation 0.25 -> 0.31 of the real 0.51)
            at the same 2/3-way TVD, but the DDPM trained on it lost TSTR (0.806 -> 0.798) and
            rare-class recall (0.51 -> 0.48) at ε = 1 (3 seeds; docs/privacy.md): not the default.
        max_model_mb: a further pair that would make Private-PGM's model (its junction tree's
            cliques) larger than this is skipped: it bounds the estimation's time and memory.
        iters: Private-PGM's mirror-descent iterations.
        rows: rows drawn from the prior for the network to learn before DP-SGD; null: twice
            the training rows.
        within_rules: rows drawn from the prior (pre-training, the sampling banks) that break a
            clinical rule of the spec are drawn again, so the network learns only rows that keep
            every rule (the rules are public: no privacy cost).
        epochs: passes of the network over those rows (no privacy cost: post-processing); null:
            the model's own default (VAE 100: its 2-way TVD on the simulator goes 0.085 -> 0.076
            from 30 to 150 epochs; DDPM 10: it starts sampling from a prior row, and an epoch
            costs it 5x the VAE's).
    """

    n_bins: int = Field(default=16, ge=2, le=128)
    max_points: int = Field(default=24, ge=2, le=128)
    pair_cells: int = Field(default=8, ge=2, le=64)
    one_way_share: float = Field(default=0.7, gt=0, lt=1)
    selection_share: float = Field(default=0.05, gt=0, lt=1)
    iters: int = Field(default=500, ge=10)
    rows: int | None = Field(default=None, ge=100)
    epochs: int | None = Field(default=None, ge=1)
    within_rules: bool = True
    extra_pairs: int = Field(default=12, ge=0)
    extra_selection_share: float = Field(default=0.03, gt=0, lt=1)
    max_model_mb: float = Field(default=4.0, gt=0)
    numeric_cells: Literal["mass", "width"] = "width"

    @model_validator(mode="after")
    def _shares_leave_budget(self) -> JointPriorConfig:
        spent = self.one_way_share + self.selection_share + (self.extra_selection_share if self.extra_pairs else 0.0)
        if spent >= 0.95:
            raise ValueError(
                f"one_way_share + selection_share + extra_selection_share = {spent:g} leaves the pair "
                "measurements less than 5 % of the prior's budget; keep their sum below 0.95"
            )
        return self


def _import_mbi() -> Any:
    """Private-PGM, with JAX in float64 (its advice for stable estimation) and no compile cache."""
    import jax  # noqa: PLC0415 - JAX starts threads and compiles: only when a joint prior is fitted

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_enable_compilation_cache", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import mbi  # noqa: PLC0415

    return mbi


#: Rounds of draws that replace rows breaking a clinical rule before broken rows are kept.
_MAX_ROUNDS = 8
#: The second round reads the first fit's pair counts from this many rows drawn from it per row of
#: its total, at most ``_FIT_SAMPLE_MAX`` in all (a million-row table would otherwise draw ten million).
_FIT_SAMPLE_RATIO = 10
_FIT_SAMPLE_MAX = 500_000


def _take(rows: EncodedTable, index: np.ndarray) -> EncodedTable:
    """The rows of ``rows`` at ``index`` (positions or a boolean mask)."""
    return EncodedTable(x_num=rows.x_num[index], x_cat=rows.x_cat[index], y=rows.y[index])


def _concat(parts: list[EncodedTable]) -> EncodedTable:
    return EncodedTable(
        x_num=np.concatenate([p.x_num for p in parts]),
        x_cat=np.concatenate([p.x_cat for p in parts]),
        y=np.concatenate([p.y for p in parts]),
    )


@dataclass(frozen=True)
class _Scaled:
    """An mbi query: a marginal's cells, each times its weight (``weights`` flat, as ``datavector``)."""

    weights: tuple[float, ...]

    def __call__(self, factor: Any) -> Any:
        import jax.numpy as jnp  # noqa: PLC0415 - only where Private-PGM runs

        return factor.datavector() * jnp.asarray(self.weights)


def _mass_coarsening(mass: np.ndarray, cells: int, *, missing: bool = False) -> np.ndarray:
    """Map of each code of an ordered column to one of at most ``cells`` runs of neighbours of about equal ``mass``.

    The runs are the contiguous partition with the smallest sum of squared run masses (dynamic
    programming over the cut points), so a code holding a large share keeps a run of its own and
    sparse tails are pooled. With ``missing`` the last code ("missing") keeps a group of its own.
    """
    size = len(mass)
    if size <= cells:
        return np.arange(size)
    if missing:
        return np.append(_mass_coarsening(mass[:-1], cells - 1), cells - 1)
    total = np.concatenate([[0.0], np.cumsum(np.maximum(mass, 0.0) + 1e-9)])  # an empty code still weighs
    cost = np.full((cells + 1, size + 1), np.inf)
    cut = np.zeros((cells + 1, size + 1), dtype=np.int64)
    cost[0, 0] = 0.0
    for g in range(1, cells + 1):
        for end in range(g, size + 1):  # runs 1..g cover codes [0, end)
            starts = np.arange(g - 1, end)
            options = cost[g - 1, starts] + (total[end] - total[starts]) ** 2
            best = int(np.argmin(options))
            cost[g, end], cut[g, end] = options[best], starts[best]
    groups = np.empty(size, dtype=np.int64)
    end = size
    for g in range(cells, 0, -1):
        groups[cut[g, end] : end] = g - 1
        end = int(cut[g, end])
    return groups


def _coarsening(size: int, cells: int, *, missing: bool = False) -> np.ndarray:
    """Map of each of ``size`` codes to one of at most ``cells`` groups of neighbours.

    With ``missing`` the last code ("missing") keeps a group of its own.
    """
    if size <= cells:
        return np.arange(size)
    if missing:
        return np.append(_coarsening(size - 1, cells - 1), cells - 1)
    return np.minimum((np.arange(size) * cells) // size, cells - 1)


@dataclass(frozen=True)
class _Release:
    """What the prior's releases produced (all of it noisy or post-processing)."""

    one_way: dict[str, np.ndarray]  # column -> noisy [K, size] class x column counts
    one_way_sd: float
    pairs: list[tuple[str, str]]
    pair_counts: list[np.ndarray]  # noisy coarsened counts of each pair, flat
    pair_sd: float  # the noise of every pair measurement (tree and further pairs alike)
    n_tree: int  # the first n_tree of ``pairs`` are the tree's


class JointPrior:
    """A Private-PGM model of the discrete view of a table, released under DP (module docstring)."""

    def __init__(self, spec: DatasetSpec, config: JointPriorConfig) -> None:
        self.config = config
        self.layout = DiscreteLayout.from_spec(spec, params=config)
        self.target = spec.target.name
        self.sizes = dict(zip(self.layout.columns, self.layout.sizes, strict=True))
        self.features = [c for c in self.layout.columns if c != self.target]
        self.nullable = {
            name for name, m in zip(self.layout.encoder.num_names, self.layout.num_missing, strict=True) if m >= 0
        }
        self.numeric = set(self.layout.encoder.num_names)
        self.coarse = {
            c: _coarsening(self.sizes[c], config.pair_cells, missing=c in self.nullable) for c in self.features
        }
        self.rules = spec.constraints
        self._model: Any = None
        self._fine: dict[str, np.ndarray] = {}  # column -> released class x fine-cell counts, clipped at 0
        self.pairs: list[tuple[str, str]] = []

    # -- release ----------------------------------------------------------------
    def fit(self, enc: EncodedTable, *, noise_multiplier: float | None, rng: np.random.Generator) -> JointPrior:
        """Measure ``enc`` (encoded by the spec's ``TableEncoder``) and estimate the joint.

        Args:
            enc: the private rows.
            noise_multiplier: σ / sensitivity of one Gaussian release of the prior's whole budget
                (the plan's ``prior_noise``, ``1 / mu``); ``None`` (no DP, a reference) or 0: exact counts.
            rng: the generator of every noise draw (keyed by the custodian's secret under DP).
        """
        start = time.perf_counter()
        codes = self.layout.codes_of(enc)
        release = self._release(codes, noise_multiplier=noise_multiplier, rng=rng)
        self.pairs = release.pairs
        # Clipped, not projected and shrunk toward the pooled shape as the marginal prior is: on
        # NEISS at ε = 1 shrinkage cost the rare classes' recall (0.36 against 0.38, 3 seeds).
        self._fine = {c: np.maximum(counts, 0.0) for c, counts in release.one_way.items()}
        self._model = self._estimate(release)
        if self._n_extra():
            release = self._second_round(codes, release, noise_multiplier=noise_multiplier, rng=rng)
            self.pairs = release.pairs
            self._model = self._estimate(release, warm_start=self._model)
        logger.info(
            "Joint prior: %d class x column counts, %d column pairs (%d of the tree), Private-PGM fitted in %.1f s",
            len(self.features),
            len(self.pairs),
            release.n_tree,
            time.perf_counter() - start,
        )
        return self

    def _sd(self, sensitivity_sq: int, share: float, noise_multiplier: float | None) -> float:
        """The Gaussian noise of a release of L2 sensitivity ``sqrt(sensitivity_sq)`` at ``share`` of ``mu^2``.

        0 when ``noise_multiplier`` is None or 0 (no DP; the audit's broken mechanism): exact counts.
        """
        if not noise_multiplier:
            return 0.0
        return math.sqrt(sensitivity_sq * noise_multiplier**2 / share)

    def _release(self, codes: pd.DataFrame, *, noise_multiplier: float | None, rng: np.random.Generator) -> _Release:
        """Steps 1-3 of the module docstring: class × column counts, the tree, its pairs."""
        cfg = self.config
        tree_share = self._tree_share()
        y = codes[self.target].to_numpy()
        k = self.sizes[self.target]
        one_sd = self._sd(len(self.features), cfg.one_way_share, noise_multiplier)
        one_way = {}
        for c in self.features:
            size = self.sizes[c]
            true = np.bincount(y * size + codes[c].to_numpy(), minlength=k * size).reshape(k, size)
            one_way[c] = true + rng.normal(0.0, one_sd, true.shape) if one_sd else true.astype(np.float64)
            if cfg.numeric_cells == "mass" and c in self.numeric:  # post-processing of the release just made
                mass = np.maximum(one_way[c], 0.0).sum(axis=0)
                self.coarse[c] = _mass_coarsening(mass, cfg.pair_cells, missing=c in self.nullable)
        candidates = list(itertools.combinations(self.features, 2))
        scores = self._scores(codes, one_way, candidates)
        sel_sd = self._sd(len(candidates), cfg.selection_share, noise_multiplier)
        noisy_scores = scores + (rng.normal(0.0, sel_sd, len(scores)) if sel_sd else 0.0)
        pairs = self._tree(candidates, noisy_scores)
        pair_sd = self._sd(len(pairs), tree_share, noise_multiplier)
        pair_counts = [self._noisy_pair(codes, a, b, pair_sd, rng) for a, b in pairs]
        return _Release(one_way, max(one_sd, 1.0), pairs, pair_counts, max(pair_sd, 1.0), len(pairs))

    def _pair_counts(self, codes: pd.DataFrame, a: str, b: str, *, coarse: bool = False) -> np.ndarray:
        """The counts of columns ``a`` × ``b`` on their coarsened grid, flat (``coarse``: codes already on it)."""
        ca, cb = self.coarse[a], self.coarse[b]
        width = int(cb.max()) + 1
        xa, xb = codes[a].to_numpy(), codes[b].to_numpy()
        cells = xa * width + xb if coarse else ca[xa] * width + cb[xb]
        return np.bincount(cells, minlength=(int(ca.max()) + 1) * width).astype(np.float64)

    def _noisy_pair(self, codes: pd.DataFrame, a: str, b: str, sd: float, rng: np.random.Generator) -> np.ndarray:
        true = self._pair_counts(codes, a, b)
        return true + rng.normal(0.0, sd, true.shape) if sd else true

    def _second_round(
        self, codes: pd.DataFrame, release: _Release, *, noise_multiplier: float | None, rng: np.random.Generator
    ) -> _Release:
        """Steps 4-5 of the module docstring: the pairs the tree's fit (``self._model``) explains worst."""
        cfg = self.config
        measured = set(release.pairs)
        candidates = [pair for pair in itertools.combinations(self.features, 2) if pair not in measured]
        if not candidates:
            return release
        scores = self._fit_scores(codes, candidates, seed=int(rng.integers(2**32)))
        sel_sd = self._sd(len(candidates), cfg.extra_selection_share, noise_multiplier)
        noisy = scores + (rng.normal(0.0, sel_sd, len(scores)) if sel_sd else 0.0)
        from mbi.junction_tree import hypothetical_model_size  # noqa: PLC0415 - Private-PGM imported by _estimate

        domain = self._domain()
        cliques = [(self.target, c) for c in self.features] + list(release.pairs)
        n_extra = self._n_extra()
        chosen: list[tuple[str, str]] = []
        for i in np.argsort(-noisy, kind="stable"):
            if len(chosen) == n_extra:
                break
            if hypothetical_model_size(domain, [*cliques, candidates[i]]) <= cfg.max_model_mb:
                chosen.append(candidates[i])
                cliques.append(candidates[i])
        # The budget was fixed for _n_extra() pairs: fewer chosen (the size cap) leaves some unspent.
        pair_sd = self._sd(n_extra, self._pair_share() - self._tree_share(), noise_multiplier)
        extra = [self._noisy_pair(codes, a, b, pair_sd, rng) for a, b in chosen]
        return dataclasses.replace(release, pairs=[*release.pairs, *chosen], pair_counts=[*release.pair_counts, *extra])

    def _fit_scores(self, codes: pd.DataFrame, candidates: list[tuple[str, str]], *, seed: int) -> np.ndarray:
        """Each candidate pair's L1 distance from the current fit, less what sampling alone gives.

        The fit's pair counts come from a large sample of it (post-processing): one draw for every
        candidate instead of one compiled variable elimination each. They are scaled to the fit's
        own total (released, not the private row count), so a score moves by at most 1 per row.
        """
        total = max(float(self._model.total), 1.0)
        n_fitted = int(min(_FIT_SAMPLE_RATIO * total, _FIT_SAMPLE_MAX)) + 1
        fitted = pd.DataFrame(self._sample_fit(n_fitted, seed=seed))
        scores = np.empty(len(candidates))
        for i, (a, b) in enumerate(candidates):
            expected = self._pair_counts(fitted, a, b, coarse=True) * (total / n_fitted)
            chance = math.sqrt(2.0 / math.pi) * float(np.sqrt(expected).sum())  # sampling noise alone (public)
            scores[i] = float(np.abs(self._pair_counts(codes, a, b) - expected).sum()) - chance
        return scores

    def _sample_fit(self, n: int, *, seed: int) -> dict[str, np.ndarray]:
        """``n`` rows of coarse codes from Private-PGM's fit, column by column.

        ``method="sample"``: siblings independent given their parents. Private-PGM draws with
        NumPy's global generator; its state is left as it was.
        """
        state = np.random.get_state()
        np.random.seed(seed % 2**32)
        try:
            return self._model.synthetic_data(n, method="sample").to_dict()
        finally:
            np.random.set_state(state)

    def _n_extra(self) -> int:
        """Pairs the second round measures: ``extra_pairs``, or every pair outside the tree if fewer."""
        n = len(self.features)
        return min(self.config.extra_pairs, n * (n - 1) // 2 - max(n - 1, 0))

    def _pair_share(self) -> float:
        """Share of the prior's budget that measures pairs (tree and further ones together)."""
        cfg = self.config
        extra = cfg.extra_selection_share if self._n_extra() else 0.0
        return 1.0 - cfg.one_way_share - cfg.selection_share - extra

    def _tree_share(self) -> float:
        """The tree's part of the pair share: every pair measured (steps 3 and 5) gets the same noise."""
        n_tree = max(len(self.features) - 1, 0)
        return self._pair_share() * n_tree / max(n_tree + self._n_extra(), 1)

    def _scores(
        self, codes: pd.DataFrame, one_way: dict[str, np.ndarray], candidates: list[tuple[str, str]]
    ) -> np.ndarray:
        """Each pair's distance from independence given the class (each moves by <= 1 per row)."""
        y = codes[self.target].to_numpy()
        k = self.sizes[self.target]
        n_k = np.maximum(np.mean([b.sum(axis=1) for b in one_way.values()], axis=0), 1.0)  # released class sizes
        cond, coarse_codes = {}, {}
        for c in self.features:  # P(coarse cell | class) from the release alone
            groups = self.coarse[c]
            width = int(groups.max()) + 1
            p = np.stack([np.bincount(groups, weights=np.maximum(row, 0.0), minlength=width) for row in one_way[c]])
            cond[c] = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
            coarse_codes[c] = groups[codes[c].to_numpy()]
        scores = np.empty(len(candidates))
        for i, (a, b) in enumerate(candidates):
            wa, wb = cond[a].shape[1], cond[b].shape[1]
            observed = np.bincount((y * wa + coarse_codes[a]) * wb + coarse_codes[b], minlength=k * wa * wb)
            expected = (n_k[:, None, None] * cond[a][:, :, None] * cond[b][:, None, :]).ravel()
            # What pure sampling noise adds to the L1 distance (Poisson cells): public, from the release.
            chance = math.sqrt(2.0 / math.pi) * float(np.sqrt(expected).sum())
            scores[i] = float(np.abs(observed - expected).sum()) - chance
        return scores

    def _tree(self, candidates: list[tuple[str, str]], scores: np.ndarray) -> list[tuple[str, str]]:
        """The maximum spanning tree of the columns under ``scores`` (Kruskal; post-processing)."""
        parent = {c: c for c in self.features}

        def root(c: str) -> str:
            while parent[c] != c:
                parent[c] = parent[parent[c]]
                c = parent[c]
            return c

        tree = []
        for i in np.argsort(-scores, kind="stable"):
            a, b = candidates[i]
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[ra] = rb
                tree.append((a, b))
        return tree

    def _domain(self) -> Any:
        """Private-PGM's domain: the class and every feature on its coarsened grid."""
        mbi = _import_mbi()
        widths = [int(self.coarse[c].max()) + 1 for c in self.features]
        return mbi.Domain([self.target, *self.features], [self.sizes[self.target], *widths])

    def _estimate(self, release: _Release, *, warm_start: Any = None) -> Any:
        """Private-PGM's estimate of the coarsened joint from every noisy measurement (post-processing)."""
        mbi = _import_mbi()
        measurements = []
        for c, counts in release.one_way.items():
            groups = self.coarse[c]
            width = int(groups.max()) + 1
            folded = np.stack([np.bincount(groups, weights=row, minlength=width) for row in counts])
            # A coarse cell sums as many noisy fine cells as it holds: each is scaled to the noise of one.
            scale = np.tile(1.0 / np.sqrt(np.bincount(groups, minlength=width)), len(counts))
            measurements.append(
                mbi.LinearMeasurement(
                    folded.ravel() * scale,
                    (self.target, c),
                    stddev=release.one_way_sd,
                    query=_Scaled(tuple(scale.tolist())),
                )
            )
        for (a, b), counts in zip(release.pairs, release.pair_counts, strict=True):
            measurements.append(mbi.LinearMeasurement(counts, (a, b), stddev=release.pair_sd))
        return mbi.estimation.MirrorDescent().estimate(
            self._domain(), measurements, iters=self.config.iters, warm_start=warm_start
        )

    # -- sampling ---------------------------------------------------------------
    def draw(self, n: int, *, seed: int, balanced: bool = False) -> EncodedTable:
        """``n`` rows drawn from the fitted joint, in the encoder's arrays (post-processing only).

        The coarse cells come from Private-PGM's ``method="sample"`` (each column from its
        conditional given those drawn before it: siblings independent given their parents),
        the fine cell within each from the class × column release. With ``within_rules`` and
        rules in the spec, rows that break one are replaced by further draws (the prior
        conditioned on keeping every rule).

        Args:
            n: rows wanted.
            seed: the same seed gives the same rows.
            balanced: as many rows of every class (the prior conditioned on each class in turn,
                by drawing until each has its share), so that a rare class gets as many distinct
                rows as a common one; otherwise the prior's own class mix.

        If the prior puts almost all its mass on broken rows (or on other classes), what
        ``_MAX_ROUNDS`` rounds of draws did not fill keeps broken rows, and a warning says how many.
        """
        check = self.config.within_rules and bool(self.rules)
        if not (check or balanced):
            return self._draw(n, seed=seed)
        k = self.sizes[self.target]
        quota = n // k + (np.arange(k) < n % k) if balanced else None
        kept: list[EncodedTable] = []
        broken: list[EncodedTable] = []
        have = np.zeros(k, dtype=np.int64)
        drawn = n_broken = 0
        for round_ in range(_MAX_ROUNDS):
            if quota is None:
                rate = (have.sum() + 1) / (drawn + 1) if drawn else 1.0
                ask = 1.2 * (n - have.sum()) / max(rate, 0.05)
            else:
                rate = (have + 1) / (drawn + k) if drawn else np.full(k, 1.0 / k)
                ask = 1.2 * float(np.max(np.maximum(quota - have, 0) / rate))
            ask = min(max(int(ask) + 16, 64), 20 * n + 64)
            round_seed = int(np.random.SeedSequence([seed, round_]).generate_state(1)[0])
            rows = self._draw(ask, seed=round_seed)
            decoded = self.layout.encoder.decode(rows, seed=round_seed) if check else None
            bad = check_constraints(decoded, self.rules).violating if decoded is not None else np.zeros(ask, bool)
            kept.append(_take(rows, ~bad))
            broken.append(_take(rows, bad))
            have += np.bincount(rows.y[~bad], minlength=k)
            drawn, n_broken = drawn + ask, n_broken + int(bad.sum())
            if (have.sum() >= n) if quota is None else bool(np.all(have >= quota)):
                break
        if check:
            logger.info(
                "Joint prior: %.1f %% of %d drawn rows broke a clinical rule and were drawn again",
                100 * n_broken / drawn,
                drawn,
            )
        good, bad_rows = _concat(kept), _concat(broken)
        if quota is None:
            chosen = [np.arange(min(n, len(good)))]
            short = [np.arange(max(n - len(good), 0))]
        else:
            chosen = [np.flatnonzero(good.y == c)[: quota[c]] for c in range(k)]
            short = [np.flatnonzero(bad_rows.y == c)[: quota[c] - len(chosen[c])] for c in range(k)]
        filled = sum(len(s) for s in short)
        if filled:
            logger.warning(
                "%d of %d rows drawn from the joint prior for the network break a clinical rule: the prior "
                "puts almost all its mass there",
                filled,
                n,
            )
        used = np.concatenate(chosen)
        out = _concat([_take(good, used), _take(bad_rows, np.concatenate(short))])
        if len(out) < n:  # a class the prior (almost) never draws: the other classes fill its share
            logger.warning("The joint prior drew %d rows of its rarest classes short of an equal share", n - len(out))
            spare = _concat([_take(good, np.setdiff1d(np.arange(len(good)), used)), bad_rows])
            out = _concat([out, _take(spare, np.arange(min(n - len(out), len(spare))))])
        return out

    def _draw(self, n: int, *, seed: int) -> EncodedTable:
        """``n`` rows drawn from the fitted joint, rules not checked (see ``draw``)."""
        if self._model is None:
            raise RuntimeError("JointPrior.draw before fit")  # pragma: no cover - internal misuse
        data = self._sample_fit(n, seed=seed)
        rng = np.random.default_rng(seed)
        y = np.asarray(data[self.target], dtype=np.int64)
        codes = {self.target: y}
        for c in self.features:
            codes[c] = self._refine(c, np.asarray(data[c], dtype=np.int64), y, rng)
        frame = pd.DataFrame({c: codes[c] for c in self.layout.columns})
        return self.layout.encoded(frame, generator=torch.Generator().manual_seed(seed))

    def _refine(self, column: str, coarse: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A fine cell for each row inside its coarse cell, in proportion to the released counts of its class."""
        groups = self.coarse[column]
        if len(groups) == int(groups.max()) + 1:
            return coarse  # not coarsened
        fine = np.empty_like(coarse)
        for k in np.unique(y):
            for g in np.unique(coarse[y == k]):
                rows = np.flatnonzero((y == k) & (coarse == g))
                cells = np.flatnonzero(groups == g)
                weights = self._fine[column][k, cells] + 1e-9  # an all-zero group: uniform
                fine[rows] = rng.choice(cells, size=len(rows), p=weights / weights.sum())
        return fine

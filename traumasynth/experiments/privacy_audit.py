"""An empirical privacy audit in one training run (Steinke, Nasr & Jagielski, NeurIPS 2023).

1. **Canaries** (:func:`make_canaries`): ``m`` rows drawn uniformly from the spec's public grid
   (every numeric slot a random cell with its value present, every categorical slot and the class
   a random level): combinations no real record is likely to have, which a model that is not
   private can memorise. Never a real record.
2. **Inclusion** (:func:`draw_inclusion`): each canary joins the training split independently
   with probability 1/2.
3. **One training run** through the pipeline's own code (``traumasynth.training.train_synthesizer``):
   the same budget plan, prior release and DP-SGD, on the training split plus the included canaries.
4. **Score** every canary by its per-example training loss under the trained model
   (``DPSGDSynthesizer.per_example_loss``): a low loss suggests "included".
5. **Guess** (:func:`guess_and_bound`): "in" for the ``k`` lowest losses, "out" for the ``k``
   highest, abstain on the rest, and turn the right guesses into a lower bound on ε
   (``traumasynth.privacy.audit_bound``). ``k`` is chosen after the fact among a few shares of
   ``m`` fixed in advance, each bound computed at ``(1 - confidence) / len(shares)`` (Bonferroni),
   so the largest of them still holds at ``confidence``.

The canaries and the inclusion bits come from a plain seeded generator (``audit_seed``), not
from the custodian's noise key: the audit runs on public or simulated tables, and its result
must be reproducible by anyone; the attack never reads the inclusion bits, which is all the
bound needs. The DP noise of the training run is keyed as in the pipeline.

What a pass means: ``epsilon_lower <= epsilon_reported``, i.e. this attack found no leak larger
than the ε the run claims. It is a lower bound from one attack, not a proof of privacy; a
failure (a lower bound above the claim) is a proof, at ``confidence``, that the implementation
does not deliver its ε.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
import torch

from traumasynth.core.errors import ParamsError
from traumasynth.encoding.table import MISSING_LEVEL, EncodedTable, TableEncoder
from traumasynth.models import get_synthesizer
from traumasynth.models.codec import GridCodec
from traumasynth.models.sgd import DPSGDSynthesizer
from traumasynth.privacy.audit_bound import epsilon_lower_bound
from traumasynth.spec import DatasetSpec
from traumasynth.training import TrainParams, train_synthesizer

logger = logging.getLogger(__name__)

#: Guesses per side, as shares of m, among which the audit picks the best (Bonferroni-corrected).
K_SHARES: tuple[float, ...] = (0.01, 0.05, 0.1, 0.25, 0.5)


@dataclass(frozen=True)
class Guess:
    """One choice of ``k``: ``k`` guesses "in", ``k`` "out", ``correct`` of them right, and the bound."""

    k: int
    correct: int
    epsilon_lower: float


@dataclass(frozen=True)
class AuditResult:
    """What one audit run found.

    Attributes:
        model: the synthesizer audited.
        epsilon_lower: lower bound on ε at ``confidence`` (>= 0; larger = more leakage found).
        epsilon_reported: the ε the run claims (the budget plan's composed total; ``None`` without DP).
        delta: the δ of the claim, also used by the bound.
        m: canaries; ``included`` of them were trained on.
        k_plus, k_minus: guesses "in" and "out" of the best choice of ``k``.
        correct: right guesses among those ``k_plus + k_minus``.
        confidence: confidence of the bound (Bonferroni over ``len(k_shares)`` choices of ``k``).
        by_k: every choice of ``k`` tried, with its right guesses and bound.
        attack: the score and guessing rule, in words.
        n_train_rows: rows of the training split before the canaries.
        train_seconds: the training run alone.
        seconds: the whole audit (canaries, training, scoring, bound).
    """

    model: str
    epsilon_lower: float
    epsilon_reported: float | None
    delta: float
    m: int
    included: int
    k_plus: int
    k_minus: int
    correct: int
    confidence: float
    by_k: tuple[Guess, ...]
    attack: str
    n_train_rows: int
    train_seconds: float
    seconds: float

    @property
    def passed(self) -> bool | None:
        """No leak above the claim was found (``None`` without DP: nothing was claimed)."""
        return None if self.epsilon_reported is None else self.epsilon_lower <= self.epsilon_reported

    def to_metrics(self) -> dict[str, Any]:
        """The JSON form (``metrics/audit_<model>.json``)."""
        return {
            "model": self.model,
            "epsilon_lower": round(self.epsilon_lower, 4),
            "epsilon_reported": self.epsilon_reported,
            "delta": self.delta,
            "passed": self.passed,
            "confidence": self.confidence,
            "m": self.m,
            "included": self.included,
            "k_plus": self.k_plus,
            "k_minus": self.k_minus,
            "correct": self.correct,
            "by_k": [{"k": g.k, "correct": g.correct, "epsilon_lower": round(g.epsilon_lower, 4)} for g in self.by_k],
            "attack": self.attack,
            "n_train_rows": self.n_train_rows,
            "train_seconds": round(self.train_seconds, 1),
            "seconds": round(self.seconds, 1),
        }


def make_canaries(*, spec: DatasetSpec, m: int, rng: np.random.Generator) -> pd.DataFrame:
    """``m`` rows in the spec's form (modelled columns), uniform over the public grid.

    Every slot of the grid view (``traumasynth.models.codec``) takes a uniformly random cell and
    the class a uniformly random level; numeric values are always present (their missing
    indicators set to "present"), so each canary is a distinctive point of the grid. Only the
    spec is read.
    """
    if m < 2:
        raise ParamsError(f"The audit needs at least 2 canaries, got {m}. Use e.g. --canaries 1000.")
    encoder = TableEncoder(spec)
    codec = GridCodec(encoder)
    x_cat = np.column_stack([rng.integers(0, size, size=m) for size in codec.sizes]).astype(np.int64)  # [m, slots]
    n_grid = len(codec.grids)
    for j, name in enumerate(encoder.cat_names):
        if name.endswith(f".{MISSING_LEVEL}"):
            x_cat[:, n_grid + j] = 0  # present
    y = rng.integers(0, encoder.n_classes, size=m).astype(np.int64)
    codes = EncodedTable(x_num=np.zeros((m, 0), dtype=np.float32), x_cat=x_cat, y=y)
    enc = codec.from_codes(codes, generator=torch.Generator().manual_seed(int(rng.integers(2**62))))
    return encoder.decode(enc, seed=int(rng.integers(2**62)))


def draw_inclusion(*, m: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean ``[m]``: each canary included independently with probability 1/2."""
    return rng.random(m) < 0.5


def guess_and_bound(
    *,
    scores: np.ndarray,
    included: np.ndarray,
    delta: float,
    confidence: float = 0.95,
    k_shares: tuple[float, ...] = K_SHARES,
) -> list[Guess]:
    """Guess "in" for the ``k`` lowest scores and "out" for the ``k`` highest, for each ``k`` of ``k_shares``.

    Each ``k = max(1, round(share * m))`` (at most ``m // 2``) gets its bound at
    ``1 - (1 - confidence) / len(k_shares)``, so the largest of them holds at ``confidence``
    (Bonferroni); :func:`best_guess` picks it.
    """
    scores = np.asarray(scores, dtype=np.float64)
    included = np.asarray(included, dtype=bool)
    m = len(scores)
    if included.shape != scores.shape or m < 2:
        raise ParamsError(f"Need one inclusion bit per score and at least 2 canaries, got {m} scores.")
    order = np.argsort(scores, kind="stable")  # lowest loss first: most likely included
    level = 1.0 - (1.0 - confidence) / len(k_shares)
    out = []
    for share in k_shares:
        k = min(max(1, round(share * m)), m // 2)
        correct = int(included[order[:k]].sum() + (~included[order[m - k :]]).sum())
        eps = epsilon_lower_bound(m=m, guesses=2 * k, correct=correct, delta=delta, confidence=level)
        out.append(Guess(k=k, correct=correct, epsilon_lower=eps))
    return out


def best_guess(guesses: list[Guess]) -> Guess:
    """The guess with the largest bound; on a tie (e.g. all 0) the one with the best accuracy, then the first."""
    return max(guesses, key=lambda g: (g.epsilon_lower, g.correct / (2 * g.k)))


def check_auditable(model: str) -> None:
    """Raise unless ``model`` is a registered synthesizer with a per-example loss (a DP-SGD model).

    Raises:
        ParamsError: unknown model (the message lists them), or one without a per-example loss.
    """
    if not issubclass(get_synthesizer(model), DPSGDSynthesizer):
        raise ParamsError(
            f"The audit scores canaries by their training loss, which '{model}' does not have. "
            "Audit a DP-SGD model: vae or ddpm."
        )


def run_audit(
    *,
    model: str,
    data: pd.DataFrame,
    spec: DatasetSpec,
    params: TrainParams,
    m: int,
    seed: int,
    audit_seed: int = 0,
    confidence: float = 0.95,
    draws: int = 16,
    k_shares: tuple[float, ...] = K_SHARES,
) -> AuditResult:
    """Audit one training run of ``model`` on ``data`` plus ``m`` canaries (see the module docstring).

    Args:
        model: a DP-SGD synthesizer (``vae``, ``ddpm``).
        data: the training split (public or simulated rows).
        spec: its dataset specification.
        params: section ``train_dp_tabular``, as the pipeline would train with.
        m: number of canaries.
        seed: the training seed (keyed DP noise, as ``base.seed`` in the pipeline).
        audit_seed: seed of the canaries, the inclusion bits and the scoring draws.
        confidence: confidence of the lower bound.
        draws: noise draws averaged in each canary's loss.
        k_shares: guesses per side as shares of ``m`` (see :func:`guess_and_bound`).

    Raises:
        ParamsError: a model without a per-example loss, fewer than 2 canaries.
        TraumaSynthError: any error of training (``traumasynth.training.train_synthesizer``).
    """
    check_auditable(model)
    start = time.perf_counter()
    rng = np.random.default_rng([audit_seed, m])
    canaries = make_canaries(spec=spec, m=m, rng=rng)
    included = draw_inclusion(m=m, rng=rng)
    columns = TableEncoder(spec).columns
    train = pd.concat([data[columns], canaries[included]], ignore_index=True)
    logger.info("Audit: %d training rows + %d of %d canaries", len(data), int(included.sum()), m)
    synth, result = train_synthesizer(model=model, data=train, spec=spec, params=params, seed=seed)
    scores = cast(DPSGDSynthesizer, synth).per_example_loss(canaries, draws=draws, seed=audit_seed)
    guesses = guess_and_bound(
        scores=scores, included=included, delta=params.delta, confidence=confidence, k_shares=k_shares
    )
    best = best_guess(guesses)
    attack = (
        f"loss threshold: each canary's per-example training loss ({draws} noise draws), the k lowest "
        f"guessed in and the k highest out, k chosen among shares {list(k_shares)} of m (Bonferroni)"
    )
    audit = AuditResult(
        model=model,
        epsilon_lower=best.epsilon_lower,
        epsilon_reported=result.epsilon,
        delta=params.delta,
        m=m,
        included=int(included.sum()),
        k_plus=best.k,
        k_minus=best.k,
        correct=best.correct,
        confidence=confidence,
        by_k=tuple(guesses),
        attack=attack,
        n_train_rows=len(data),
        train_seconds=result.train_seconds,
        seconds=time.perf_counter() - start,
    )
    logger.info(
        "Audit of %s: ε >= %.3f at %.0f %% (claimed %s), %d of %d guesses right",
        model,
        best.epsilon_lower,
        100 * confidence,
        result.epsilon,
        best.correct,
        2 * best.k,
    )
    return audit

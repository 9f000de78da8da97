"""Rows from a fitted Private-PGM model (AIM, MST) with sibling columns independent given their parents.

smartnoise-synth 1.0.8 draws AIM's and MST's rows with mbi 1.1.0's
``MarkovRandomField.synthetic_data(rows)``, whose default ``method="round"`` gives each column,
inside each group of rows that share its parents' values, the stratified uniforms
``(rank + U) / group size`` with ``rank`` the row's position *in row order* inside the group.
Every column drawn from the same parents therefore sorts the group's rows the same way: two
siblings come out comonotone, and all columns are coupled through the row order (smartnoise's
AIM on ed_trauma_sim gave ``injury_type`` in blocks along ``arrival_hour``: a 2-way TVD of 0.57
for that pair, 0.05 with this module), which handicaps the peers.

mbi 2.0.0 fixes it by shuffling the rows of each parent group before the ranks are taken, and
by conditioning on a column's neighbours in the triangulated graph (the junction tree's
cliques) rather than in the measured cliques only, so that the draw is exact ancestral
sampling when the model is not a tree. It is not a drop-in for smartnoise 1.0.8, which calls
``estimation.mirror_descent`` and ``marginal_oracles.message_passing_stable`` (both gone in
2.0.0), so :func:`synthetic_data` is mbi 2.0.0's ``synthetic_data(method="round")`` (Apache
2.0, Ryan McKenna) on 1.1.0's model. Rounding, not ``method="sample"``, keeps every
(parents, column) count within a few rows of the model's; the shuffle makes siblings independent
given their parents. Differences from the original: an explicit generator instead of NumPy's
global state, a fixed order of the parents (mbi takes a set's order, which varies with
``PYTHONHASHSEED``), and the per-group loops done as array operations.

This module needs mbi, so it runs in ``.venv-peers`` only, imported by ``run_peer.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from mbi import Dataset, junction_tree, marginal_oracles


def rounded_column(counts: np.ndarray, *, total: int, rng: np.random.Generator) -> np.ndarray:
    """``total`` codes whose counts are ``counts`` scaled to ``total`` and randomly rounded, in random order."""
    counts = np.asarray(counts, dtype=np.float64).reshape(-1)
    scaled = counts * (total / counts.sum())
    frac, whole = np.modf(scaled)
    whole = whole.astype(np.int64)
    extra = total - int(whole.sum())
    if extra > 0:
        whole[rng.choice(counts.size, size=extra, replace=False, p=frac / frac.sum())] += 1
    codes = np.repeat(np.arange(counts.size, dtype=np.int64), whole)  # [total]
    rng.shuffle(codes)
    return codes


def conditional_column(parent_codes: np.ndarray, joint: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """One code per row from P(column | parents), stratified within each parent group, in random order.

    Args:
        parent_codes: ``[rows, n_parents]`` codes already drawn.
        joint: the model's marginal over (parents..., column), ``[*parent sizes, K]``.
        rng: the generator of the draw.

    Returns:
        ``[rows]`` codes of the column.
    """
    total = len(parent_codes)
    size = joint.shape[-1]
    parent_mass = joint.sum(axis=-1, keepdims=True)
    cond = np.divide(joint, parent_mass, out=np.zeros_like(joint), where=parent_mass != 0)
    cdfs = cond.cumsum(axis=-1)  # [*parent sizes, K]
    groups, inverse, counts = np.unique(parent_codes, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)  # [rows]: the group of each row
    # The fix: rows sorted by group and, inside a group, in random order (mbi 1.1.0 keeps row order,
    # so every sibling ranks the group's rows alike and comes out comonotone with the others).
    perm = np.lexsort((rng.random(total), inverse))  # [rows]
    starts = np.cumsum(counts) - counts  # [groups]
    ranks = np.empty(total, dtype=np.int64)
    ranks[perm] = np.arange(total) - np.repeat(starts, counts)
    u = (ranks + rng.random(total)) / counts[inverse]  # [rows]: one uniform per stratum of the group
    row_cdfs = cdfs[tuple(groups.T)][inverse]  # [rows, K]
    codes = (row_cdfs <= u[:, None]).sum(axis=1)  # = searchsorted(cdf, u, side="right") per row
    return np.minimum(codes, size - 1)  # a cdf that sums to 1 - 1e-7 must not give code K


def synthetic_data(model: Any, *, rows: int, rng: np.random.Generator) -> Dataset:
    """``rows`` rows drawn from a fitted mbi 1.1.0 ``MarkovRandomField`` (what AIM and MST keep).

    Columns are drawn in reverse elimination order, each given the columns already drawn among
    its neighbours in the junction tree; see the module docstring for why this replaces
    ``model.synthetic_data``.

    Args:
        model: the fitted model (``synth.synthesizer`` of smartnoise's AIM or MST).
        rows: how many rows to draw.
        rng: the generator of the draw; the same state gives the same rows.

    Returns:
        An mbi ``Dataset`` over the model's domain.
    """
    total = max(1, int(rows))
    domain = model.domain
    jtree, elimination_order = junction_tree.make_junction_tree(domain, [tuple(cl) for cl in model.cliques])
    cliques = [set(cl) for cl in jtree.nodes]
    marginals = marginal_oracles.message_passing_stable(model.potentials.expand(list(jtree.nodes)), model.total)
    order = list(elimination_order[::-1])
    data: dict[str, np.ndarray] = {}
    for col in order:
        neighbours = set().union(*(cl for cl in cliques if col in cl))
        parents = tuple(c for c in order if c in data and c in neighbours)
        if parents:
            joint = np.asarray(marginals.project(parents + (col,)).datavector(flatten=False), dtype=np.float64)
            codes = conditional_column(np.stack([data[p] for p in parents], axis=-1), joint, rng=rng)
        else:
            counts = np.asarray(marginals.project((col,)).datavector(flatten=False), dtype=np.float64)
            codes = rounded_column(counts, total=total, rng=rng)
        data[col] = codes.astype(np.int64)  # mbi's smallest dtype could overflow in MST's decompression
    return Dataset(data, domain)

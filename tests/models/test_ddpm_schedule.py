"""Maths of the noise schedule and of the multinomial diffusion."""

from __future__ import annotations

import pytest
import torch

from traumasynth.core.errors import ParamsError
from traumasynth.models.ddpm.multinomial import (
    CategoricalLayout,
    index_to_log_onehot,
    log_categorical,
    log_onehot_to_index,
    log_softmax_slots,
    multinomial_kl,
    multinomial_q_posterior,
    multinomial_q_pred,
    multinomial_q_sample,
    sliced_logsumexp,
)
from traumasynth.models.ddpm.schedule import make_schedule, respaced_schedule

LAYOUT = CategoricalLayout(sizes=(2, 3, 5))


@pytest.mark.parametrize("kind", ["cosine", "linear"])
def test_schedule_is_monotone_and_ends_near_pure_noise(kind):
    s = make_schedule(kind=kind, timesteps=100)
    assert s.timesteps == 100
    assert ((s.betas > 0) & (s.betas < 1)).all()
    abar = s.alphas_cumprod
    assert (abar[1:] < abar[:-1]).all()
    assert 0.9 < abar[0] < 1.0
    assert abar[-1] < 0.01
    torch.testing.assert_close(s.log_cumprod_alpha.exp(), abar, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(s.log_1_min_cumprod_alpha.exp(), 1 - abar, rtol=1e-4, atol=1e-6)


def test_schedule_rejects_bad_settings():
    with pytest.raises(ParamsError, match="at least 2 timesteps"):
        make_schedule(kind="cosine", timesteps=1)
    with pytest.raises(ParamsError, match="Unknown noise schedule 'sigmoid'"):
        make_schedule(kind="sigmoid", timesteps=10)  # type: ignore[arg-type]


def test_onehot_roundtrip_and_sliced_logsumexp():
    x = torch.tensor([[1, 0, 4], [0, 2, 3]])
    log_x = index_to_log_onehot(x=x, layout=LAYOUT)
    assert log_x.shape == (2, LAYOUT.width)
    assert torch.equal(log_onehot_to_index(log_x=log_x, layout=LAYOUT), x)
    logits = torch.randn(2, LAYOUT.width, generator=torch.Generator().manual_seed(3))
    log_p = log_softmax_slots(logits=logits, layout=LAYOUT)
    for block in torch.split(log_p.exp(), list(LAYOUT.sizes), dim=-1):
        torch.testing.assert_close(block.sum(-1), torch.ones(2))
    lse = sliced_logsumexp(log_x=logits, layout=LAYOUT)
    torch.testing.assert_close(lse[:, 2], torch.logsumexp(logits[:, 2:5], dim=-1))


def _transition(alpha: float, k: int) -> torch.Tensor:
    return alpha * torch.eye(k, dtype=torch.float64) + (1 - alpha) / k


def test_multinomial_posterior_equals_bayes_rule_and_sums_to_one():
    s = make_schedule(kind="cosine", timesteps=30)
    g = torch.Generator().manual_seed(4)
    log_x0 = log_softmax_slots(logits=torch.randn(4, LAYOUT.width, generator=g), layout=LAYOUT)  # soft x_0
    x_t = torch.tensor([[0, 1, 2], [1, 2, 4], [1, 0, 0], [0, 1, 3]])
    log_x_t = index_to_log_onehot(x=x_t, layout=LAYOUT)
    t = torch.tensor([0, 1, 15, 29])
    post = multinomial_q_posterior(schedule=s, layout=LAYOUT, log_x0=log_x0, log_x_t=log_x_t, t=t).exp()
    alphas = (1 - s.betas).double()
    for row in range(4):
        step = int(t[row])
        for slot, (off, k) in enumerate(zip(LAYOUT.offsets, LAYOUT.sizes, strict=True)):
            block = post[row, off : off + k].double()
            assert block.sum().item() == pytest.approx(1.0, abs=1e-5)
            p_x0 = log_x0[row, off : off + k].exp().double()
            # q(x_{t-1} | x_0) = p_x0 @ prod_{s < t} Q_s; q(x_t = i | x_{t-1} = j) = Q_t[j, i]
            prior = p_x0
            for earlier in range(step):
                prior = prior @ _transition(float(alphas[earlier]), k)
            expected = prior * _transition(float(alphas[step]), k)[:, int(x_t[row, slot])]
            torch.testing.assert_close(block, expected / expected.sum(), atol=1e-4, rtol=1e-3)


def test_multinomial_q_pred_and_q_sample_frequencies():
    s = make_schedule(kind="cosine", timesteps=20)
    n = 60_000
    x0 = torch.tensor([[1, 2, 0]]).expand(n, 3)
    log_x0 = index_to_log_onehot(x=x0, layout=LAYOUT)
    t = torch.full((n,), 8)
    q = multinomial_q_pred(schedule=s, layout=LAYOUT, log_x0=log_x0[:1], t=t[:1]).exp()[0]
    for block in torch.split(q, list(LAYOUT.sizes)):
        assert block.sum().item() == pytest.approx(1.0, abs=1e-5)
    abar = s.alphas_cumprod[8].item()
    assert q[1].item() == pytest.approx(abar + (1 - abar) / 2, rel=1e-4)
    drawn = multinomial_q_sample(
        schedule=s, layout=LAYOUT, log_x0=log_x0, t=t, generator=torch.Generator().manual_seed(5)
    ).exp()
    torch.testing.assert_close(drawn.mean(0), q, atol=0.01, rtol=0)
    last = multinomial_q_pred(schedule=s, layout=LAYOUT, log_x0=log_x0[:1], t=torch.tensor([19])).exp()[0]
    torch.testing.assert_close(last[2:5], torch.full((3,), 1 / 3), atol=1e-3, rtol=0)


def test_kl_and_log_categorical():
    g = torch.Generator().manual_seed(6)
    log_p = log_softmax_slots(logits=torch.randn(5, LAYOUT.width, generator=g), layout=LAYOUT)
    log_q = log_softmax_slots(logits=torch.randn(5, LAYOUT.width, generator=g), layout=LAYOUT)
    torch.testing.assert_close(multinomial_kl(log_p=log_p, log_q=log_p), torch.zeros(5), atol=1e-6, rtol=0)
    assert (multinomial_kl(log_p=log_p, log_q=log_q) > 0).all()
    x = torch.tensor([[0, 2, 1]])
    expected = sum(log_q[0, off + int(x[0, i])] for i, off in enumerate(LAYOUT.offsets))
    got = log_categorical(log_x=index_to_log_onehot(x=x, layout=LAYOUT), log_probs=log_q[:1])
    assert got.item() == pytest.approx(expected.item(), abs=1e-5)


def test_sliced_logsumexp_is_exact_when_slots_are_far_apart():
    """A slot 200 nats below the rest would underflow a shared shift: the exact path takes over."""
    logits = torch.randn(3, LAYOUT.width, generator=torch.Generator().manual_seed(7))
    logits[:, 2:5] -= 200.0
    expected = torch.cat(
        [torch.logsumexp(b, -1, keepdim=True).expand_as(b) for b in torch.split(logits, list(LAYOUT.sizes), -1)], -1
    )
    torch.testing.assert_close(sliced_logsumexp(log_x=logits, layout=LAYOUT), expected)
    near = logits.clone()
    near[:, 2:5] += 200.0  # all slots comparable: the fast path
    expected_near = torch.cat(
        [torch.logsumexp(b, -1, keepdim=True).expand_as(b) for b in torch.split(near, list(LAYOUT.sizes), -1)], -1
    )
    torch.testing.assert_close(sliced_logsumexp(log_x=near, layout=LAYOUT), expected_near)


def test_respaced_schedule_keeps_the_chosen_steps_cumulative_noise():
    full = make_schedule(kind="cosine", timesteps=100)
    same, kept_all = respaced_schedule(kind="cosine", timesteps=100, steps=100)
    assert torch.equal(kept_all, torch.arange(100))
    torch.testing.assert_close(same.betas, full.betas)
    spaced, kept = respaced_schedule(kind="cosine", timesteps=100, steps=25)
    assert spaced.timesteps == len(kept) == 25
    assert kept[0] == 0 and kept[-1] == 99 and (kept[1:] > kept[:-1]).all()
    torch.testing.assert_close(spaced.alphas_cumprod, full.alphas_cumprod[kept], rtol=1e-5, atol=1e-7)
    # Uniform-mixing transitions compose: one respaced step = the product of the skipped ones.
    i = 10
    skipped = (1 - full.betas[kept[i - 1] + 1 : kept[i] + 1]).prod()
    assert (1 - spaced.betas[i]).item() == pytest.approx(skipped.item(), rel=1e-5)
    with pytest.raises(ParamsError, match="sample_steps between 2 and timesteps"):
        respaced_schedule(kind="cosine", timesteps=10, steps=11)

"""Maths of the noise schedule and of the Gaussian and multinomial diffusions."""

from __future__ import annotations

import pytest
import torch

from traumasynth.errors import ParamsError
from traumasynth.models.ddpm.schedule import (
    CategoricalLayout,
    gaussian_p_step,
    gaussian_posterior,
    gaussian_predict_x0,
    gaussian_q_sample,
    index_to_log_onehot,
    log_categorical,
    log_onehot_to_index,
    log_softmax_slots,
    make_schedule,
    multinomial_kl,
    multinomial_q_posterior,
    multinomial_q_pred,
    multinomial_q_sample,
    respaced_schedule,
    sliced_logsumexp,
)

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


def test_gaussian_q_sample_moments():
    s = make_schedule(kind="cosine", timesteps=50)
    g = torch.Generator().manual_seed(0)
    n = 200_000
    x0 = torch.full((n, 1), 0.6)
    for step in (0, 20, 49):
        t = torch.full((n,), step)
        xt = gaussian_q_sample(schedule=s, x0=x0, t=t, noise=torch.randn(n, 1, generator=g))
        assert xt.mean().item() == pytest.approx(0.6 * s.sqrt_alphas_cumprod[step].item(), abs=0.01)
        assert xt.var().item() == pytest.approx(1 - s.alphas_cumprod[step].item(), rel=0.02, abs=2e-4)


def test_gaussian_posterior_matches_monte_carlo_regression():
    """q(x_{t-1}|x_t, x_0) is Gaussian: regress sampled x_{t-1} on x_t for a fixed x_0."""
    s = make_schedule(kind="linear", timesteps=40)
    g = torch.Generator().manual_seed(1)
    n, step, x0_value = 400_000, 10, -0.3
    x0 = torch.full((n,), x0_value)
    x_prev = gaussian_q_sample(schedule=s, x0=x0, t=torch.full((n,), step - 1), noise=torch.randn(n, generator=g))
    x_t = (1 - s.betas[step]).sqrt() * x_prev + s.betas[step].sqrt() * torch.randn(n, generator=g)
    cov = torch.cov(torch.stack([x_t, x_prev]))
    slope = cov[0, 1] / cov[0, 0]
    intercept = x_prev.mean() - slope * x_t.mean()
    resid_var = (x_prev - (intercept + slope * x_t)).var()
    assert slope.item() == pytest.approx(s.posterior_mean_coef2[step].item(), rel=0.01)
    assert intercept.item() == pytest.approx(s.posterior_mean_coef1[step].item() * x0_value, abs=0.005)
    assert resid_var.item() == pytest.approx(s.posterior_variance[step].item(), rel=0.02)
    mean, var, _ = gaussian_posterior(schedule=s, x0=x0[:1], x_t=x_t[:1], t=torch.tensor([step]))
    assert mean.item() == pytest.approx((intercept + slope * x_t[0]).item(), abs=0.01)
    assert var.item() == pytest.approx(s.posterior_variance[step].item())


def test_reverse_step_with_true_noise_recovers_x0_at_first_step():
    s = make_schedule(kind="cosine", timesteps=100)
    g = torch.Generator().manual_seed(2)
    x0 = torch.rand(8, 3, 4, generator=g) * 2 - 1  # [B, K, d]
    noise = torch.randn(x0.shape, generator=g)
    for step in (0, 37, 99):
        t = torch.full((8, 3), step)
        x_t = gaussian_q_sample(schedule=s, x0=x0, t=t, noise=noise)
        torch.testing.assert_close(gaussian_predict_x0(schedule=s, x_t=x_t, t=t, eps=noise), x0, atol=2e-3, rtol=0)
    t0 = torch.zeros(8, 3, dtype=torch.long)
    x1 = gaussian_q_sample(schedule=s, x0=x0, t=t0, noise=noise)
    fresh = torch.randn(x0.shape, generator=g)  # ignored at t = 0: the last step returns its mean
    x_prev = gaussian_p_step(schedule=s, x_t=x1, t=t0, eps=noise, noise=fresh, clip=False)
    torch.testing.assert_close(x_prev, x0, atol=1e-5, rtol=0)


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

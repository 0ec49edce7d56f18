"""Attention: scaled_dot_product_attention, MultiheadAttention and TransformerEncoderLayer against
torch with copied weights (outputs, attention weights, every gradient; masks of every kind),
a numpy reference without torch, gradcheck in float64, positional embeddings, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.autograd import gradcheck

RTOL, ATOL = 1e-4, 1e-5


def close(e, t, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


def copy_weights(em, tm):
    with ember.no_grad():
        for name, p in tm.named_parameters():
            obj = em
            for part in name.split(".")[:-1]:
                obj = getattr(obj, part)
            getattr(obj, name.split(".")[-1]).copy_(ember.tensor(p.detach().numpy()))


def np_sdpa(q, k, v, mask=None, causal=False):
    s = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], bool)), s, -np.inf)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    w = np.exp(s - s.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    return w @ v


@pytest.mark.parametrize("kind", ["none", "bool", "float", "causal"])
def test_sdpa_matches_numpy(kind, rng):
    q, k, v = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 6, 4)), rng.standard_normal((2, 3, 6, 7))
    mask = None
    if kind == "bool":
        mask = rng.random((5, 6)) > 0.3
        mask[:, 0] = True  # no fully masked row
    elif kind == "float":
        mask = rng.standard_normal((3, 5, 6))
    T = ember.tensor
    out = nn.scaled_dot_product_attention(T(q), T(k), T(v), None if mask is None else T(mask),
                                          is_causal=kind == "causal")
    if kind == "causal":
        k, v = k[:, :, :6], v[:, :, :6]
    np.testing.assert_allclose(out.numpy(), np_sdpa(q, k, v, mask, kind == "causal"), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("trial", range(4))
def test_sdpa_matches_torch(torch, trial):
    rng = np.random.default_rng(trial)
    L, S, E, Ev = (int(v) for v in rng.integers(1, 7, 4))
    batch = tuple(int(v) for v in rng.integers(1, 4, int(rng.integers(0, 3))))
    q, k, v = (rng.standard_normal(batch + s).astype(np.float32) for s in ((L, E), (S, E), (S, Ev)))
    variants = [dict(), dict(is_causal=True), dict(scale=0.3)]
    bmask = rng.random((L, S)) > 0.4
    bmask[:, 0] = True
    variants += [dict(attn_mask=bmask), dict(attn_mask=rng.standard_normal((L, S)).astype(np.float32))]
    for kw in variants:
        tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
        eq, ek, ev = (ember.tensor(a, requires_grad=True) for a in (q, k, v))
        tkw = {n: torch.tensor(a) if isinstance(a, np.ndarray) else a for n, a in kw.items()}
        ekw = {n: ember.tensor(a) if isinstance(a, np.ndarray) else a for n, a in kw.items()}
        t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **tkw)
        e_out = nn.scaled_dot_product_attention(eq, ek, ev, **ekw)
        close(e_out, t_out)
        g = rng.standard_normal(t_out.shape).astype(np.float32)
        (t_out * torch.tensor(g)).sum().backward()
        (e_out * ember.tensor(g)).sum().backward()
        for e, t in ((eq, tq), (ek, tk), (ev, tv)):
            close(e.grad, t.grad)


def _mha_pair(torch, E, H, batch_first=False, bias=True, kdim=None, vdim=None, dtype=np.float32):
    tm = torch.nn.MultiheadAttention(E, H, bias=bias, kdim=kdim, vdim=vdim, batch_first=batch_first)
    em = nn.MultiheadAttention(E, H, bias=bias, kdim=kdim, vdim=vdim, batch_first=batch_first,
                               dtype=ember.float64 if dtype == np.float64 else None)
    if dtype == np.float64:
        tm = tm.double()
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    copy_weights(em, tm)
    return tm, em


@pytest.mark.parametrize("trial", range(8))
def test_mha_matches_torch_randomized(torch, trial):
    rng = np.random.default_rng(50 + trial)
    H = int(rng.integers(1, 4))
    E = H * int(rng.integers(1, 5))
    L, S, N = (int(v) for v in rng.integers(1, 6, 3))
    batch_first, bias, separate = (bool(v) for v in rng.integers(0, 2, 3))
    kdim, vdim = (E + 2, E + 1) if separate else (None, None)
    tm, em = _mha_pair(torch, E, H, batch_first, bias, kdim, vdim)
    def shape(length, d):
        return (N, length, d) if batch_first else (length, N, d)
    q = rng.standard_normal(shape(L, E)).astype(np.float32)
    k = rng.standard_normal(shape(S, kdim or E)).astype(np.float32)
    v = rng.standard_normal(shape(S, vdim or E)).astype(np.float32)
    kw_np = {}
    which = trial % 4
    if which == 1:
        kpm = rng.random((N, S)) > 0.6
        kpm[:, 0] = False
        kw_np["key_padding_mask"] = kpm
    elif which == 2:
        am = rng.random((L, S)) > 0.6
        am[:, 0] = False
        kw_np["attn_mask"] = am
    elif which == 3:
        kw_np["attn_mask"] = rng.standard_normal((N * H, L, S)).astype(np.float32)
        kw_np["key_padding_mask"] = rng.standard_normal((N, S)).astype(np.float32)
    average = bool(trial % 2)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    eq, ek, ev = (ember.tensor(a, requires_grad=True) for a in (q, k, v))
    t_out, t_w = tm(tq, tk, tv, average_attn_weights=average, **{n: torch.tensor(a) for n, a in kw_np.items()})
    e_out, e_w = em(eq, ek, ev, average_attn_weights=average, **{n: ember.tensor(a) for n, a in kw_np.items()})
    close(e_out, t_out)
    close(e_w, t_w)
    g = rng.standard_normal(tuple(t_out.shape)).astype(np.float32)
    (t_out * torch.tensor(g)).sum().backward()
    (e_out * ember.tensor(g)).sum().backward()
    for e, t in ((eq, tq), (ek, tk), (ev, tv)):
        close(e.grad, t.grad)
    for name, p in tm.named_parameters():
        obj = em
        for part in name.split("."):
            obj = getattr(obj, part)
        close(obj.grad, p.grad)


def test_mha_self_attention_unbatched_and_no_weights(torch, rng):
    tm, em = _mha_pair(torch, 8, 2)
    x = rng.standard_normal((5, 8)).astype(np.float32)
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    t_out, t_w = tm(tx, tx, tx)
    e_out, e_w = em(ex, ex, ex)
    close(e_out, t_out)
    close(e_w, t_w)
    t_out.sum().backward()
    e_out.sum().backward()
    close(ex.grad, tx.grad)
    out, w = em(ex, ex, ex, need_weights=False)
    assert w is None
    close(out, t_out)
    # a causal float mask with the is_causal hint
    mask = nn.generate_square_subsequent_mask(5)
    np.testing.assert_array_equal(mask.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(5).numpy())
    t_out, _ = tm(tx, tx, tx, attn_mask=torch.tensor(mask.numpy()), is_causal=True)
    e_out, _ = em(ex, ex, ex, attn_mask=mask, is_causal=True)
    close(e_out, t_out)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_encoder_layer_matches_torch(torch, norm_first, activation, batch_first, rng):
    tm = torch.nn.TransformerEncoderLayer(12, 3, dim_feedforward=20, dropout=0.1, activation=activation,
                                          batch_first=batch_first, norm_first=norm_first)
    em = nn.TransformerEncoderLayer(12, 3, dim_feedforward=20, dropout=0.1, activation=activation,
                                    batch_first=batch_first, norm_first=norm_first)
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    copy_weights(em, tm)
    tm.eval()
    em.eval()
    shape = (2, 6, 12) if batch_first else (6, 2, 12)
    x = rng.standard_normal(shape).astype(np.float32)
    kpm = np.zeros((2, 6), bool)
    kpm[1, 4:] = True
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    t_out = tm(tx, src_key_padding_mask=torch.tensor(kpm))
    e_out = em(ex, src_key_padding_mask=ember.tensor(kpm))
    close(e_out, t_out)
    g = rng.standard_normal(shape).astype(np.float32)
    (t_out * torch.tensor(g)).sum().backward()
    (e_out * ember.tensor(g)).sum().backward()
    close(ex.grad, tx.grad)
    for name, p in tm.named_parameters():
        obj = em
        for part in name.split("."):
            obj = getattr(obj, part)
        close(obj.grad, p.grad, rtol=2e-4, atol=2e-5)


def test_encoder_stack_trains_and_dropout_only_in_training():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.5, batch_first=True)
    enc = nn.TransformerEncoder(layer, 2)
    assert len(list(enc.parameters())) == 2 * len(list(layer.parameters()))
    x = ember.randn(3, 4, 8)
    a, b = enc(x), enc(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    enc.eval()
    np.testing.assert_array_equal(enc(x).detach().numpy(), enc(x).detach().numpy())


def test_gradcheck_attention(rng):
    d = ember.float64
    q = ember.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    k = ember.tensor(rng.standard_normal((2, 5, 4)), requires_grad=True)
    v = ember.tensor(rng.standard_normal((2, 5, 3)), requires_grad=True)
    m = ember.tensor(rng.standard_normal((3, 5)))
    assert gradcheck(lambda q, k, v: nn.scaled_dot_product_attention(q, k, v, m), (q, k, v))
    mha = nn.MultiheadAttention(4, 2, dtype=d)
    x = ember.tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    kpm = ember.tensor(np.array([[False, False, True], [False, False, False]]))
    assert gradcheck(lambda x: mha(x, x, x, key_padding_mask=kpm)[0], (x,))


def test_positional_embeddings(rng):
    pe = nn.SinusoidalPositionalEmbedding(6, max_len=10)
    table = pe.pe.numpy()
    pos, i = np.arange(10)[:, None], np.arange(0, 6, 2)[None, :]
    np.testing.assert_allclose(table[:, 0::2], np.sin(pos / 10000 ** (i / 6)), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(table[:, 1::2], np.cos(pos / 10000 ** (i / 6)), rtol=1e-6, atol=1e-7)
    assert "pe" not in pe.state_dict()
    x = ember.zeros(4, 3, 6)  # [L, N, E]
    np.testing.assert_allclose(pe(x).numpy(), np.broadcast_to(table[:4, None], (4, 3, 6)), rtol=1e-6)
    pe_bf = nn.SinusoidalPositionalEmbedding(6, max_len=10, batch_first=True)
    np.testing.assert_allclose(pe_bf(ember.zeros(3, 4, 6)).numpy(), np.broadcast_to(table[None, :4], (3, 4, 6)))
    with pytest.raises(ValueError):
        pe(ember.zeros(11, 1, 6))
    learned = nn.LearnedPositionalEmbedding(10, 6, batch_first=True)
    out = learned(ember.zeros(2, 5, 6))
    out.sum().backward()
    grad = learned.weight.grad.numpy()
    np.testing.assert_array_equal(grad[:5], np.full((5, 6), 2.0))
    np.testing.assert_array_equal(grad[5:], 0.0)


def test_errors():
    with pytest.raises(ValueError):
        nn.MultiheadAttention(10, 3)
    mha = nn.MultiheadAttention(8, 2)
    x = ember.randn(4, 2, 8)
    with pytest.raises(ValueError):
        mha(x, x, x, attn_mask=ember.zeros(3, 4))
    with pytest.raises(ValueError):
        mha(x, x, x, key_padding_mask=ember.zeros(2, 5, dtype=ember.bool))
    with pytest.raises(ValueError, match="is_causal"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(TypeError):
        mha(x, x, x, attn_mask=ember.zeros(4, 4, dtype=ember.int64))
    q = ember.randn(2, 3, 4)
    with pytest.raises(ValueError):
        nn.scaled_dot_product_attention(q, ember.randn(2, 3, 5), ember.randn(2, 3, 4))
    with pytest.raises(ValueError):
        nn.scaled_dot_product_attention(q, q, q, ember.ones(3, 3, dtype=ember.bool), is_causal=True)
    with pytest.raises(RuntimeError):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")


def test_factory_arguments_and_bias_free_layers(torch):
    layer = nn.TransformerEncoderLayer(8, 2, 16, bias=False, device="cpu", dtype=ember.float64)
    ref = torch.nn.TransformerEncoderLayer(8, 2, 16, bias=False)
    assert [n for n, _ in layer.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert all(p.dtype == ember.float64 for p in layer.parameters())
    mha = nn.MultiheadAttention(8, 2, bias=False, device="cpu")
    assert [n for n, _ in mha.named_parameters()] == \
        [n for n, _ in torch.nn.MultiheadAttention(8, 2, bias=False).named_parameters()]
    x = ember.randn(3, 1, 8)
    assert tuple(mha(x, x, x)[0].shape) == (3, 1, 8)

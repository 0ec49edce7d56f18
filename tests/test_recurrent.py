"""Recurrent layers: RNN / LSTM / GRU and their cells against torch with copied weights (outputs,
final states and every gradient, randomized sizes and flags), against a numpy reference when
torch is missing, gradcheck in float64, argument errors, and long-sequence BPTT."""
from __future__ import annotations

import gc
import os

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.autograd import gradcheck
from conftest import load_example

RTOL, ATOL = 1e-4, 1e-5


def copy_weights(em, tm):
    """Copies every parameter of the torch module `tm` into the ember module `em` by name."""
    with ember.no_grad():
        for name, p in tm.named_parameters():
            getattr(em, name).copy_(ember.tensor(p.detach().numpy()))


def close(e, t, rtol=RTOL, atol=ATOL):
    assert e is not None and t is not None
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


# ---- numpy reference (for runs without torch) ------------------------------------------------

def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_layer(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One direction, time-major x [T, B, I]; torch's equations."""
    H = w_hh.shape[1]
    outs = []
    for t in range(x.shape[0]):
        gi = x[t] @ w_ih.T + b_ih
        gh = h @ w_hh.T + b_hh
        if mode == "LSTM":
            i, f, g, o = (gi + gh)[:, :H], (gi + gh)[:, H:2 * H], (gi + gh)[:, 2 * H:3 * H], (gi + gh)[:, 3 * H:]
            c = _sig(f) * c + _sig(i) * np.tanh(g)
            h = _sig(o) * np.tanh(c)
        elif mode == "GRU":
            r = _sig(gi[:, :H] + gh[:, :H])
            z = _sig(gi[:, H:2 * H] + gh[:, H:2 * H])
            n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
            h = (1 - z) * n + z * h
        elif mode == "RNN_TANH":
            h = np.tanh(gi + gh)
        else:
            h = np.maximum(gi + gh, 0)
        outs.append(h)
    return np.stack(outs), h, c


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_layer_matches_numpy_reference(mode, batch_first, rng):
    T, B, I, H = 5, 3, 4, 6
    G = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    x = rng.standard_normal((T, B, I))
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    w_ih, w_hh = rng.standard_normal((G * H, I)) * 0.5, rng.standard_normal((G * H, H)) * 0.5
    b_ih, b_hh = rng.standard_normal(G * H), rng.standard_normal(G * H)
    ref_y, ref_h, ref_c = np_layer(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    xin = x.transpose(1, 0, 2) if batch_first else x
    t = ember.tensor
    y, h, c = ember._C._rnn.rnn_layer(mode, t(xin), t(h0), t(c0) if mode == "LSTM" else None, t(w_ih), t(w_hh),
                                      t(b_ih), t(b_hh), batch_first, False)
    got_y = y.numpy().transpose(1, 0, 2) if batch_first else y.numpy()
    np.testing.assert_allclose(got_y, ref_y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h.numpy(), ref_h, rtol=1e-10, atol=1e-12)
    if mode == "LSTM":
        np.testing.assert_allclose(c.numpy(), ref_c, rtol=1e-10, atol=1e-12)
    # reverse: the same as running the reversed sequence forward
    y_r, h_r, _ = ember._C._rnn.rnn_layer(mode, t(x), t(h0), t(c0) if mode == "LSTM" else None, t(w_ih), t(w_hh),
                                          t(b_ih), t(b_hh), False, True)
    ref_yr, ref_hr, _ = np_layer(mode, x[::-1], h0, c0, w_ih, w_hh, b_ih, b_hh)
    np.testing.assert_allclose(y_r.numpy(), ref_yr[::-1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_r.numpy(), ref_hr, rtol=1e-10, atol=1e-12)


# ---- against torch -----------------------------------------------------------------------------

KINDS = [("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]


def _run_pair(torch, kind, kw, T, B, I, H, layers, bidir, batch_first, bias, with_state, dtype=np.float32,
              unbatched=False, seed=0):
    rng = np.random.default_rng(seed)
    tm = getattr(torch.nn, kind)(I, H, num_layers=layers, bidirectional=bidir, batch_first=batch_first, bias=bias,
                                 **kw)
    em = getattr(nn, kind)(I, H, num_layers=layers, bidirectional=bidir, batch_first=batch_first, bias=bias, **kw)
    if dtype == np.float64:
        tm = tm.double()
        em = getattr(nn, kind)(I, H, num_layers=layers, bidirectional=bidir, batch_first=batch_first, bias=bias,
                               dtype=ember.float64, **kw)
    copy_weights(em, tm)
    shape = (T, I) if unbatched else ((B, T, I) if batch_first else (T, B, I))
    x_np = rng.standard_normal(shape).astype(dtype)
    tx, ex = torch.tensor(x_np, requires_grad=True), ember.tensor(x_np, requires_grad=True)
    D = 2 if bidir else 1
    state_shape = (layers * D, H) if unbatched else (layers * D, B, H)
    targs, eargs = [], []
    if with_state:
        h_np = rng.standard_normal(state_shape).astype(dtype)
        th, eh = torch.tensor(h_np, requires_grad=True), ember.tensor(h_np, requires_grad=True)
        if kind == "LSTM":
            c_np = rng.standard_normal(state_shape).astype(dtype)
            tc, ec = torch.tensor(c_np, requires_grad=True), ember.tensor(c_np, requires_grad=True)
            targs, eargs = [(th, tc)], [(eh, ec)]
            states = [(th, eh), (tc, ec)]
        else:
            targs, eargs = [th], [eh]
            states = [(th, eh)]
    else:
        states = []
    tout, tst = tm(tx, *targs)
    eout, est = em(ex, *eargs)
    close(eout, tout)
    tst = tst if kind == "LSTM" else (tst,)
    est = est if kind == "LSTM" else (est,)
    for e, t in zip(est, tst):
        close(e, t)
    # a loss touching the output and every final state, with different weights
    w_np = rng.standard_normal(tuple(tout.shape)).astype(dtype)
    tloss = (tout * torch.tensor(w_np)).sum() + sum((s * (k + 2)).sum() for k, s in enumerate(tst))
    eloss = (eout * ember.tensor(w_np)).sum() + sum((s * (k + 2)).sum() for k, s in enumerate(est))
    tloss.backward()
    eloss.backward()
    close(ex.grad, tx.grad)
    for t, e in states:
        close(e.grad, t.grad)
    for name, p in tm.named_parameters():
        close(getattr(em, name).grad, p.grad)


@pytest.mark.parametrize("kind,kw", KINDS)
@pytest.mark.parametrize("trial", range(6))
def test_module_matches_torch_randomized(torch, kind, kw, trial):
    rng = np.random.default_rng(100 + trial)
    T, B, I, H = (int(v) for v in (rng.integers(1, 9), rng.integers(1, 6), rng.integers(1, 12), rng.integers(1, 20)))
    layers = int(rng.integers(1, 4))
    bidir, batch_first, bias, with_state = (bool(v) for v in rng.integers(0, 2, 4))
    _run_pair(torch, kind, kw, T, B, I, H, layers, bidir, batch_first, bias, with_state, seed=trial)


@pytest.mark.parametrize("kind,kw", KINDS)
def test_module_matches_torch_all_flags(torch, kind, kw):
    _run_pair(torch, kind, kw, 7, 4, 5, 9, 2, True, True, True, True)
    _run_pair(torch, kind, kw, 6, 3, 10, 17, 1, False, False, False, False)  # H not a multiple of 8


@pytest.mark.parametrize("kind,kw", KINDS)
def test_module_unbatched_and_float64(torch, kind, kw):
    _run_pair(torch, kind, kw, 5, 1, 3, 4, 2, True, False, True, True, unbatched=True)
    _run_pair(torch, kind, kw, 4, 2, 3, 5, 2, True, True, True, True, dtype=np.float64)


def test_lstm_large_hidden_matches_torch(torch):
    """Sizes where the gate math runs in parallel chunks and the AVX2 path covers whole vectors."""
    _run_pair(torch, "LSTM", {}, 12, 16, 40, 130, 1, False, True, True, True)
    _run_pair(torch, "GRU", {}, 12, 16, 40, 130, 1, True, False, True, True)


@pytest.mark.parametrize("kind,nl", [("RNNCell", "tanh"), ("RNNCell", "relu"), ("LSTMCell", None), ("GRUCell", None)])
@pytest.mark.parametrize("bias", [True, False])
def test_cells_match_torch(torch, kind, nl, bias, rng):
    kw = {"nonlinearity": nl} if nl else {}
    tm = getattr(torch.nn, kind)(6, 11, bias=bias, **kw)
    em = getattr(nn, kind)(6, 11, bias=bias, **kw)
    copy_weights(em, tm)
    for batched in (True, False):
        shape = (4, 6) if batched else (6,)
        hshape = (4, 11) if batched else (11,)
        x_np = rng.standard_normal(shape).astype(np.float32)
        h_np = rng.standard_normal(hshape).astype(np.float32)
        c_np = rng.standard_normal(hshape).astype(np.float32)
        tx, ex = torch.tensor(x_np, requires_grad=True), ember.tensor(x_np, requires_grad=True)
        th, eh = torch.tensor(h_np, requires_grad=True), ember.tensor(h_np, requires_grad=True)
        tc, ec = torch.tensor(c_np, requires_grad=True), ember.tensor(c_np, requires_grad=True)
        if kind == "LSTMCell":
            t_out, e_out = tm(tx, (th, tc)), em(ex, (eh, ec))
        else:
            t_out, e_out = (tm(tx, th),), (em(ex, eh),)
        for e, t in zip(e_out, t_out):
            close(e, t)
        sum((o * (k + 1)).sum() for k, o in enumerate(t_out)).backward()
        sum((o * (k + 1)).sum() for k, o in enumerate(e_out)).backward()
        close(ex.grad, tx.grad)
        close(eh.grad, th.grad)
        if kind == "LSTMCell":
            close(ec.grad, tc.grad)
        for name, p in tm.named_parameters():
            close(getattr(em, name).grad, p.grad)
            getattr(em, name).grad = None
            p.grad = None
    # without a state: zeros, as torch
    x_np = rng.standard_normal((2, 6)).astype(np.float32)
    t_out, e_out = tm(torch.tensor(x_np)), em(ember.tensor(x_np))
    if kind != "LSTMCell":
        t_out, e_out = (t_out,), (e_out,)
    for e, t in zip(e_out, t_out):
        close(e, t)


def test_parameter_names_and_state_dict_copy(torch):
    tm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    em = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    for (n, p), (_, q) in zip(em.named_parameters(), tm.named_parameters()):
        assert tuple(p.shape) == tuple(q.shape), n
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    close(em(ember.tensor(x))[0], tm(torch.tensor(x))[0])


def test_default_init_range():
    m = nn.GRU(10, 25, num_layers=2, bidirectional=True)
    bound = 1 / np.sqrt(25)
    for name, p in m.named_parameters():
        v = p.detach().numpy()
        assert np.all(np.abs(v) <= bound), name
        assert v.std() > bound / 3, name  # actually spread over the range, not constant
    names = [n for n, _ in m.named_parameters()]
    assert names[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert "weight_ih_l1_reverse" in names and tuple(m.weight_ih_l1.shape) == (75, 50)


def test_no_bias_registers_no_bias():
    m = nn.LSTM(3, 4, bias=False)
    assert [n for n, _ in m.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    c = nn.GRUCell(3, 4, bias=False)
    assert c.bias_ih is None and [n for n, _ in c.named_parameters()] == ["weight_ih", "weight_hh"]


# ---- gradcheck (float64) ---------------------------------------------------------------------

def _p(rng, *shape):
    return ember.tensor(rng.standard_normal(shape) * 0.6, dtype=ember.float64, requires_grad=True)


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
def test_gradcheck_cells(mode, rng):
    G = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    B, I, H = 2, 3, 4
    x, h, c = _p(rng, B, I), _p(rng, B, H), _p(rng, B, H)
    w_ih, w_hh, b_ih, b_hh = _p(rng, G * H, I), _p(rng, G * H, H), _p(rng, G * H), _p(rng, G * H)
    r = ember._C._rnn
    if mode == "LSTM":
        fn = lambda *a: tuple(r.lstm_cell(*a))  # noqa: E731
        assert gradcheck(fn, (x, h, c, w_ih, w_hh, b_ih, b_hh))
    else:
        cell = {"RNN_TANH": r.rnn_tanh_cell, "RNN_RELU": r.rnn_relu_cell, "GRU": r.gru_cell}[mode]
        assert gradcheck(cell, (x, h, w_ih, w_hh, b_ih, b_hh))


@pytest.mark.parametrize("mode", ["RNN_TANH", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first,reverse", [(False, False), (True, True)])
def test_gradcheck_sequence(mode, batch_first, reverse, rng):
    G = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    T, B, I, H = 4, 2, 3, 3
    x = _p(rng, B, T, I) if batch_first else _p(rng, T, B, I)
    h, c = _p(rng, B, H), _p(rng, B, H)
    w_ih, w_hh, b_ih, b_hh = _p(rng, G * H, I), _p(rng, G * H, H), _p(rng, G * H), _p(rng, G * H)
    lstm = mode == "LSTM"

    def fn(x, h, c, w_ih, w_hh, b_ih, b_hh):
        y, hn, cn = ember._C._rnn.rnn_layer(mode, x, h, c if lstm else None, w_ih, w_hh, b_ih, b_hh, batch_first,
                                            reverse)
        return (y, hn, cn) if lstm else (y, hn)

    assert gradcheck(fn, (x, h, c if lstm else c.detach(), w_ih, w_hh, b_ih, b_hh))


def test_gradcheck_stacked_bidirectional(rng):
    m = nn.GRU(3, 3, num_layers=2, bidirectional=True, dtype=ember.float64)
    x = _p(rng, 3, 2, 3)
    h = _p(rng, 4, 2, 3)
    assert gradcheck(lambda x, h: m(x, h), (x, h))


# ---- behaviour ---------------------------------------------------------------------------------

def test_dropout_between_layers_only_in_training(torch):
    em = nn.LSTM(4, 8, num_layers=3, dropout=0.5)
    tm = torch.nn.LSTM(4, 8, num_layers=3, dropout=0.5)
    copy_weights(em, tm)
    x = np.random.default_rng(1).standard_normal((6, 2, 4)).astype(np.float32)
    a, _ = em(ember.tensor(x))
    b, _ = em(ember.tensor(x))
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())  # dropout masks differ between calls
    em.eval()
    tm.eval()
    close(em(ember.tensor(x))[0], tm(torch.tensor(x))[0])
    with pytest.warns(UserWarning):
        nn.GRU(3, 3, dropout=0.2)


@pytest.mark.parametrize("kind,batch", [("LSTM", 16), ("GRU", 24), ("RNN", 64)])
def test_same_bits_for_any_thread_count(kind, batch, rng):
    """Sizes past the per-step threading threshold: the step loop runs on a team of threads."""
    m = getattr(nn, kind)(40, 200, batch_first=True)
    x_np = rng.standard_normal((batch, 10, 40)).astype(np.float32)
    results = []
    before = ember.get_num_threads()
    try:
        for nt in (1, 2):
            ember.set_num_threads(nt)
            m.zero_grad()
            x = ember.tensor(x_np, requires_grad=True)
            out, state = m(x)
            (out.sum() + (state[1] if kind == "LSTM" else state).sum()).backward()
            results.append([out.detach().numpy().copy(), x.grad.numpy().copy()] +
                           [p.grad.numpy().copy() for p in m.parameters()])
    finally:
        ember.set_num_threads(before)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_argument_errors():
    m = nn.LSTM(4, 5)
    with pytest.raises(ValueError, match="input"):
        m(ember.randn(3, 2, 6))  # wrong feature size
    with pytest.raises(ValueError):
        m(ember.randn(3, 2, 4), (ember.zeros(1, 3, 5), ember.zeros(1, 2, 5)))  # wrong batch in h0
    with pytest.raises(ValueError):
        m(ember.randn(2, 3, 2, 4))  # 4-D
    with pytest.raises(ValueError, match="sequence length"):
        m(ember.randn(0, 2, 4))
    with pytest.raises(TypeError):
        m(ember.randn(3, 2, 4, dtype=ember.float64))
    with pytest.raises(TypeError):
        m(ember.randn(3, 2, 4), ember.zeros(1, 2, 5))  # LSTM needs a tuple
    with pytest.raises(ValueError, match="mode"):
        ember._C._rnn.rnn("LSTMX", ember.randn(3, 2, 4), None, None, m._flat_weights, True, 1, 0.0, False, False,
                          False)
    with pytest.raises(ValueError):
        ember._C._rnn.rnn("LSTM", ember.randn(3, 2, 4), None, None, m._flat_weights[:3], True, 1, 0.0, False, False,
                          False)
    with pytest.raises(ValueError):
        nn.GRU(3, 0)
    with pytest.raises(ValueError):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError):
        nn.LSTM(3, 4, dropout=1.5)
    cell = nn.GRUCell(3, 4)
    with pytest.raises(ValueError):
        cell(ember.randn(2, 3), ember.randn(3, 4))
    with pytest.raises(ValueError):
        cell(ember.randn(2, 2, 3))


def test_inplace_change_of_output_detected():
    m = nn.GRU(3, 4)
    out, _ = m(ember.randn(5, 2, 3))
    with ember.no_grad():
        out.add_(1.0)
    with pytest.raises(RuntimeError, match="inplace"):
        out.sum().backward()


def test_one_node_per_layer_and_direction():
    m = nn.LSTM(3, 4)
    out, _ = m(ember.randn(50, 2, 3))
    assert out.grad_fn.name() == "LstmBackward"


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux) to read memory use")
def test_thousand_step_bptt_no_growth():
    """1,000 steps: one node per layer, so backward neither recurses deeply nor keeps memory."""
    m = nn.LSTM(8, 32, num_layers=2)
    x = ember.randn(1000, 4, 8, requires_grad=True)
    opt_params = list(m.parameters())
    rss = []
    for it in range(6):
        out, (h, c) = m(x)
        (out.mean() + h.sum()).backward()
        for p in opt_params:
            p.grad = None
        x.grad = None
        del out, h, c
        gc.collect()
        rss.append(_rss_bytes())
    grow = rss[-1] - rss[2]
    assert grow < 4 * 2 ** 20, f"memory grew by {grow / 2 ** 20:.1f} MiB over 3 iterations: {rss}"
    assert np.isfinite(m.weight_hh_l0.detach().numpy()).all()


# ---- examples (small settings) -------------------------------------------------------------------

def test_example_sequence_classification(capsys):
    pytest.importorskip("sklearn")  # the digits ship with scikit-learn
    acc = load_example("sequence_classification").main(["--epochs", "4"])
    assert acc > 0.85, capsys.readouterr().out


def test_example_char_lm_learns_and_samples(capsys):
    loss = load_example("char_lm").main(["--epochs", "10", "--sample-len", "40"])
    out = capsys.readouterr().out
    assert loss < 2.6, out  # from ln(vocab) ~ 3.6
    assert "--- sample ---" in out and len(out.split("--- sample ---")[1].strip()) >= 40


def test_factory_arguments():
    for m in (nn.LSTM(3, 4, device="cpu", dtype=ember.float64), nn.GRUCell(3, 4, device="cpu", dtype=ember.float64),
              nn.RNN(3, 4, nonlinearity="relu", dtype=ember.float64)):
        assert all(p.dtype == ember.float64 for p in m.parameters())
    with pytest.raises(TypeError):
        nn.GRU(3, 4, dtype=ember.int64)

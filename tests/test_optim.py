"""ember.optim: every optimizer configuration against torch.optim over 50 steps of a small model,
against a float64 numpy transcription of the update rules (runs without torch), bitwise against
torch on identical gradients, state dicts and resumption, zero_grad, and argument checking."""
from __future__ import annotations

import copy
import os

import numpy as np
import pytest

import ember
import ember.optim as optim

# (optimizer, options): every flag of every optimizer, alone and combined.
CONFIGS = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.5, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9))),  # 1 - beta1 >= 0.5: torch's other lerp form
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, betas=(0.4, 0.95), maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-8)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1, alpha=0.9)),
    ("RMSprop", dict(lr=0.005, alpha=0.3, centered=True, eps=1e-6, maximize=True)),  # 1 - alpha >= 0.5
]
IDS = [f"{name}-" + "-".join(f"{k}={v}" for k, v in kw.items()) for name, kw in CONFIGS]
DTYPES = ["float32", "float64"]
STEPS = 50


# ---- the model: y = x @ W1 @ W2 + b, mean squared error -------------------------------------------

def problem(dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, 5)).astype(dtype)
    y = rng.standard_normal((16, 3)).astype(dtype)
    params = [rng.standard_normal((5, 4)).astype(dtype) * 0.5, rng.standard_normal((4, 3)).astype(dtype) * 0.5,
              rng.standard_normal(3).astype(dtype) * 0.1]
    return x, y, params


def loss_of(lib, x, y, params, sign):
    w1, w2, b = params
    d = lib.matmul(lib.matmul(x, w1), w2) + b - y
    loss = (d * d).mean()
    return loss * sign  # maximize=True climbs -loss, so both runs stay bounded


def run_ember(name, kw, dtype, steps=STEPS, groups=None, seed=0):
    x, y, init = problem(dtype, seed)
    params = [ember.tensor(p, requires_grad=True) for p in init]
    x, y = ember.tensor(x), ember.tensor(y)
    spec = groups(params) if groups else params
    opt = getattr(optim, name)(spec, **kw)
    sign = -1.0 if kw.get("maximize") else 1.0
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        loss_of(ember, x, y, params, sign).backward()
        opt.step()
        traj.append([p.detach().numpy().copy() for p in params])
    return traj, opt, params


def run_torch(torch, name, kw, dtype, steps=STEPS, groups=None, seed=0, **extra):
    x, y, init = problem(dtype, seed)
    params = [torch.tensor(p, requires_grad=True) for p in init]
    x, y = torch.tensor(x), torch.tensor(y)
    spec = groups(params) if groups else params
    opt = getattr(torch.optim, name)(spec, **kw, **extra)
    sign = -1.0 if kw.get("maximize") else 1.0
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        loss_of(torch, x, y, params, sign).backward()
        opt.step()
        traj.append([p.detach().numpy().copy() for p in params])
    return traj, opt


def assert_trajectories_close(got, want, rtol):
    for step, (g, w) in enumerate(zip(got, want)):
        for i, (a, b) in enumerate(zip(g, w)):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 0.1,
                                       err_msg=f"parameter {i} after step {step + 1}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_trajectory_matches_torch(torch, name, kw, dtype):
    got, _, _ = run_ember(name, kw, dtype)
    want, _ = run_torch(torch, name, kw, dtype)
    assert_trajectories_close(got, want, rtol=1e-5)


def two_groups(params):
    return [{"params": params[:2]}, {"params": params[2:], "lr": 0.002}]


GROUP_CONFIGS = [
    ("SGD", dict(lr=0.05, momentum=0.9), lambda p: [{"params": p[:1]}, {"params": p[1:], "lr": 0.01,
                                                                          "nesterov": True}]),
    ("Adam", dict(lr=0.01), lambda p: [{"params": p[:2], "amsgrad": True}, {"params": p[2:], "lr": 0.05,
                                                                            "weight_decay": 0.1}]),
    ("AdamW", dict(lr=0.01), two_groups),
    ("Adagrad", dict(lr=0.1), lambda p: [{"params": p[:1]}, {"params": p[1:], "lr": 0.03, "lr_decay": 0.1}]),
    ("RMSprop", dict(lr=0.01), lambda p: [{"params": p[1:], "momentum": 0.5}, {"params": p[:1], "lr": 0.001,
                                                                              "centered": True}]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kw,groups", GROUP_CONFIGS, ids=[c[0] for c in GROUP_CONFIGS])
def test_param_groups_match_torch(torch, name, kw, groups, dtype):
    got, opt, _ = run_ember(name, kw, dtype, groups=groups)
    want, topt = run_torch(torch, name, kw, dtype, groups=groups)
    assert_trajectories_close(got, want, rtol=1e-5)
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]


# ---- bitwise, on identical gradients ------------------------------------------------------------

BITWISE = [  # torch's path that ember reproduces bit for bit (see kernels/cpu/optim.h)
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01), {}),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True), {}),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True), dict(fused=True)),
    ("AdamW", dict(lr=0.01, betas=(0.3, 0.9)), dict(fused=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1), dict(fused=True)),
]


@pytest.mark.parametrize("name,kw,extra", BITWISE, ids=[b[0] for b in BITWISE])
def test_bitwise_on_same_gradients(torch, name, kw, extra):
    rng = np.random.default_rng(7)
    # torch's fused kernels finish a tensor whose size is not a multiple of the vector width with
    # a scalar loop that rounds differently from their vector loop (by an ulp, now and then);
    # ember matches the vector loop, so the fused comparisons use whole vectors.
    shapes = [(32,), (8, 10), (1000,)] if extra.get("fused") else [(37,), (5, 9), (1000,)]
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ep = [ember.tensor(a, requires_grad=True) for a in init]
    tp = [torch.tensor(a, requires_grad=True) for a in init]
    eo = getattr(optim, name)(ep, **kw)
    to = getattr(torch.optim, name)(tp, **kw, **extra)
    for _ in range(20):
        for e, t in zip(ep, tp):
            g = rng.standard_normal(tuple(e.shape)).astype(np.float32)
            e.grad = ember.tensor(g)
            t.grad = torch.tensor(g)
        eo.step()
        to.step()
        for e, t in zip(ep, tp):
            np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())


# ---- a float64 numpy transcription of torch's documented rules (no torch needed) ---------------

class NumpyReference:
    """torch.optim's update rules, one parameter at a time, in float64."""

    def __init__(self, name, kw):
        self.name = name
        self.o = dict(dict(SGD=dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False),
                           Adam=dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False),
                           AdamW=dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False),
                           Adagrad=dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10),
                           RMSprop=dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                                        centered=False))[name], maximize=False)
        self.o.update(kw)
        self.state = {}

    def step(self, i, p, g):
        o, s = self.o, self.state.setdefault(i, {"t": 0})
        s["t"] += 1
        t = s["t"]
        g = -g if o["maximize"] else g.copy()
        if self.name == "SGD":
            if o["weight_decay"]:
                g = g + o["weight_decay"] * p
            if o["momentum"]:
                buf = g.copy() if t == 1 else o["momentum"] * s["buf"] + (1 - o["dampening"]) * g
                s["buf"] = buf
                g = g + o["momentum"] * buf if o["nesterov"] else buf
            return p - o["lr"] * g
        if self.name in ("Adam", "AdamW"):
            b1, b2 = o["betas"]
            if self.name == "AdamW":
                p = p * (1 - o["lr"] * o["weight_decay"])
            elif o["weight_decay"]:
                g = g + o["weight_decay"] * p
            s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
            s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
            v = s["v"]
            if o["amsgrad"]:
                s["vmax"] = v = np.maximum(s.get("vmax", 0), v)
            denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + o["eps"]
            return p - o["lr"] / (1 - b1 ** t) * s["m"] / denom
        if self.name == "Adagrad":
            if o["weight_decay"]:
                g = g + o["weight_decay"] * p
            clr = o["lr"] / (1 + (t - 1) * o["lr_decay"])
            s["sum"] = s.get("sum", o["initial_accumulator_value"]) + g * g
            return p - clr * g / (np.sqrt(s["sum"]) + o["eps"])
        # RMSprop
        a = o["alpha"]
        if o["weight_decay"]:
            g = g + o["weight_decay"] * p
        s["sq"] = a * s.get("sq", 0) + (1 - a) * g * g
        if o["centered"]:
            s["ga"] = a * s.get("ga", 0) + (1 - a) * g
            avg = np.sqrt(s["sq"] - s["ga"] ** 2) + o["eps"]
        else:
            avg = np.sqrt(s["sq"]) + o["eps"]
        if o["momentum"] > 0:
            s["buf"] = o["momentum"] * s.get("buf", 0) + g / avg
            return p - o["lr"] * s["buf"]
        return p - o["lr"] * g / avg


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_matches_numpy_reference(name, kw, dtype):
    """Each step of ember's optimizer on the model's gradients equals the float64 rule applied to
    the same parameters and gradients; the reference keeps its own (float64) state."""
    x, y, init = problem(dtype)
    params = [ember.tensor(p, requires_grad=True) for p in init]
    x, y = ember.tensor(x), ember.tensor(y)
    opt = getattr(optim, name)(params, **kw)
    ref = NumpyReference(name, kw)
    sign = -1.0 if kw.get("maximize") else 1.0
    rtol = 1e-5 if dtype == "float32" else 1e-10
    for step in range(30):
        opt.zero_grad()
        loss_of(ember, x, y, params, sign).backward()
        before = [(p.detach().numpy().astype(np.float64), p.grad.numpy().astype(np.float64)) for p in params]
        opt.step()
        for i, ((p0, g), p) in enumerate(zip(before, params)):
            want = ref.step(i, p0, g)
            # atol relative to the tensor's scale: centered RMSprop's sqrt(sq - ga^2) cancels, so a
            # float32 run drifts from the float64 rule by more than rtol on its small elements.
            np.testing.assert_allclose(p.detach().numpy(), want, rtol=rtol, atol=rtol * np.abs(want).max(),
                                       err_msg=f"{name} parameter {i} step {step + 1}")


# ---- state dicts ----------------------------------------------------------------------------------

def clone_state_dict(sd):
    """A snapshot of a state dict (its tensors are the optimizer's own, as in torch)."""
    def cp(v):
        if isinstance(v, ember.Tensor):
            return v.detach().clone()
        if isinstance(v, dict):
            return {k: cp(x) for k, x in v.items()}
        if isinstance(v, list):
            return [cp(x) for x in v]
        return v
    return cp(sd)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_state_dict_resume_is_bit_exact(name, kw):
    full, _, _ = run_ember(name, kw, "float32", steps=30)
    half, opt, params = run_ember(name, kw, "float32", steps=12)
    sd = clone_state_dict(opt.state_dict())
    # A fresh optimizer over fresh copies of the parameters, resumed from the snapshot.
    x, y, _ = problem("float32")
    x, y = ember.tensor(x), ember.tensor(y)
    params2 = [ember.tensor(p.detach().numpy(), requires_grad=True) for p in params]
    opt2 = getattr(optim, name)(params2, **kw)
    opt2.load_state_dict(sd)
    sign = -1.0 if kw.get("maximize") else 1.0
    for step in range(12, 30):
        opt2.zero_grad()
        loss_of(ember, x, y, params2, sign).backward()
        opt2.step()
        for a, b in zip(params2, full[step]):
            np.testing.assert_array_equal(a.detach().numpy(), b)


def test_state_dict_format_matches_torch(torch):
    for name, kw in CONFIGS:
        _, opt, _ = run_ember(name, kw, "float32", steps=2)
        _, topt = run_torch(torch, name, kw, "float32", steps=2)
        sd, tsd = opt.state_dict(), topt.state_dict()
        assert sd["param_groups"] == tsd["param_groups"], name
        assert sd["state"].keys() == tsd["state"].keys(), name
        for i in sd["state"]:
            assert sd["state"][i].keys() == tsd["state"][i].keys(), (name, i)
            for k, v in sd["state"][i].items():
                tv = tsd["state"][i][k]
                assert tuple(v.shape) == tuple(tv.shape), (name, k)
                assert str(v.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], (name, k)
                np.testing.assert_allclose(v.numpy(), tv.numpy(), rtol=1e-5, atol=1e-5 * np.abs(tv.numpy()).max())


def test_step_counter_is_float32_tensor():
    _, opt, params = run_ember("Adam", dict(lr=0.01), "float64", steps=3)
    step = opt.state[params[0]]["step"]
    assert isinstance(step, ember.Tensor) and step.dtype == ember.float32 and step.shape == ()
    assert step.item() == 3.0


def test_load_state_dict_accepts_float_steps_and_json_keys():
    _, opt, params = run_ember("Adam", dict(lr=0.01), "float32", steps=5)
    sd = clone_state_dict(opt.state_dict())
    # JSON-like: string indices, lists for tuples, Python numbers for steps (older torch format).
    sd["state"] = {str(k): {n: (float(v.item()) if n == "step" else v) for n, v in s.items()}
                   for k, s in sd["state"].items()}
    sd["param_groups"][0]["betas"] = list(sd["param_groups"][0]["betas"])
    opt2 = optim.Adam([ember.tensor(p.detach().numpy(), requires_grad=True) for p in params], lr=0.01)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["betas"] == (0.9, 0.999)
    st = opt2.state[opt2.param_groups[0]["params"][0]]
    assert isinstance(st["step"], ember.Tensor) and st["step"].item() == 5.0


def test_load_state_dict_copies_tensors():
    _, opt, params = run_ember("SGD", dict(lr=0.05, momentum=0.9), "float32", steps=2)
    sd = opt.state_dict()
    opt2 = optim.SGD(params, lr=0.05, momentum=0.9)
    opt2.load_state_dict(sd)
    buf = opt.state[params[0]]["momentum_buffer"]
    buf2 = opt2.state[params[0]]["momentum_buffer"]
    assert buf2 is not buf
    before = buf2.numpy().copy()
    buf.fill_(123.0)
    np.testing.assert_array_equal(buf2.numpy(), before)


def test_load_state_dict_mismatch_raises():
    a = [ember.zeros(2, requires_grad=True), ember.zeros(3, requires_grad=True)]
    opt = optim.SGD(a, lr=0.1)
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": a[:1]}, {"params": a[1:]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD(a[:1], lr=0.1).load_state_dict(sd)
    p = ember.zeros(2, requires_grad=True)
    o = optim.Adam([p])
    p.grad = ember.ones(2)
    o.step()
    bad = clone_state_dict(o.state_dict())
    bad["state"][0]["exp_avg"] = ember.zeros(5)
    with pytest.raises(ValueError, match="shape"):
        optim.Adam([ember.zeros(2, requires_grad=True)]).load_state_dict(bad)


def test_checkpoint_round_trip_resumes_bit_exactly(tmp_path):
    from ember import nn
    from ember.io import load_checkpoint, save_checkpoint

    class Net(nn.Module):  # plain ops only, so this test depends on nothing but tensors
        def __init__(self):
            super().__init__()
            self.w1 = nn.Parameter(ember.randn(6, 8) * 0.3)
            self.b1 = nn.Parameter(ember.zeros(8))
            self.w2 = nn.Parameter(ember.randn(8, 2) * 0.3)

        def forward(self, x):
            return ember.tanh(ember.matmul(x, self.w1) + self.b1).matmul(self.w2)

    def make():
        ember.manual_seed(3)
        return Net()

    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((32, 6)).astype(np.float32))
    y = ember.tensor(rng.standard_normal((32, 2)).astype(np.float32))

    def train(model, opt, sched, steps):
        for _ in range(steps):
            opt.zero_grad()
            d = model(x) - y
            (d * d).mean().backward()
            opt.step()
            sched.step()

    for name, kw in [("Adam", dict(lr=0.01, amsgrad=True)), ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                     ("Adagrad", dict(lr=0.05)), ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
                     ("AdamW", dict(lr=0.01))]:
        model = make()
        opt = getattr(optim, name)(model.parameters(), **kw)
        sched = optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
        train(model, opt, sched, 10)
        path = os.path.join(tmp_path, f"{name}.safetensors")
        save_checkpoint(path, model, opt, sched, epoch=10)
        train(model, opt, sched, 10)
        want = [p.detach().numpy().copy() for p in model.parameters()]

        model2 = make()
        opt2 = getattr(optim, name)(model2.parameters(), **kw)
        sched2 = optim.lr_scheduler.StepLR(opt2, step_size=4, gamma=0.5)
        epoch, _, _ = load_checkpoint(path, model2, opt2, sched2)
        assert epoch == 10
        assert opt2.param_groups[0]["lr"] == kw["lr"] * 0.5 ** 2  # StepLR(4, 0.5) after 10 epochs
        train(model2, opt2, sched2, 10)
        for a, b in zip(model2.parameters(), want):
            np.testing.assert_array_equal(a.detach().numpy(), b, err_msg=name)


# ---- zero_grad, step details ---------------------------------------------------------------------

def test_zero_grad_set_to_none():
    p = ember.ones(3, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    assert p.grad is not None
    opt.zero_grad()
    assert p.grad is None
    opt.zero_grad()  # no gradient: nothing to do


def test_zero_grad_in_place():
    p = ember.ones(3, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g
    np.testing.assert_array_equal(g.numpy(), np.zeros(3, np.float32))
    assert not g.requires_grad
    (p * 3).sum().backward()  # accumulates into the zeroed gradient
    np.testing.assert_array_equal(p.grad.numpy(), np.full(3, 3, np.float32))


def test_params_without_grad_are_skipped():
    a = ember.ones(2, requires_grad=True)
    b = ember.ones(2, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    assert b not in opt.state or not opt.state[b]
    np.testing.assert_array_equal(b.detach().numpy(), np.ones(2, np.float32))
    assert opt.state[a]["step"].item() == 1


def test_step_closure_returns_loss():
    p = ember.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.25)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        calls.append(1)
        return loss

    with ember.no_grad():
        loss = opt.step(closure)  # the closure still gets grad mode
    assert calls and loss.item() == 5.0
    np.testing.assert_allclose(p.detach().numpy(), [0.5, -1.0])


def test_param_updates_bump_version_so_stale_graphs_fail():
    p = ember.ones(3, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    y = (p * p).sum()
    (p * 2).sum().backward()
    opt.step()
    with pytest.raises(RuntimeError):
        y.backward()


def test_mixed_dtypes_and_noncontiguous_param():
    base = np.arange(12, dtype=np.float64).reshape(3, 4) / 10
    a = ember.tensor(base).t().detach().requires_grad_()  # non-contiguous leaf
    b = ember.tensor(np.ones(5, np.float32), requires_grad=True)
    assert not a.is_contiguous()
    opt = optim.Adam([a, b], lr=0.1, amsgrad=True)
    ref_a = ember.tensor(base.T.copy(), requires_grad=True)
    ref_b = ember.tensor(np.ones(5, np.float32), requires_grad=True)
    ref = optim.Adam([ref_a, ref_b], lr=0.1, amsgrad=True)
    for _ in range(5):
        for o, (x, z) in ((opt, (a, b)), (ref, (ref_a, ref_b))):
            o.zero_grad()
            ((x * x).sum() + (z * z * z).sum()).backward()
            o.step()
    np.testing.assert_array_equal(a.detach().numpy(), ref_a.detach().numpy())
    np.testing.assert_array_equal(b.detach().numpy(), ref_b.detach().numpy())
    assert b.dtype == ember.float32 and a.dtype == ember.float64


def test_same_bits_whatever_the_thread_count():
    rng = np.random.default_rng(1)
    init = [rng.standard_normal(n).astype(np.float32) for n in (100_003, 70_001, 17)]
    grads = [rng.standard_normal(n).astype(np.float32) for n in (100_003, 70_001, 17)]
    results = []
    old = ember.get_num_threads()
    try:
        for threads in (1, 2, 3):
            ember.set_num_threads(threads)
            ps = [ember.tensor(a, requires_grad=True) for a in init]
            opt = optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.9)
            for _ in range(3):
                for p, g in zip(ps, grads):
                    p.grad = ember.tensor(g)
                opt.step()
            results.append([p.detach().numpy() for p in ps])
    finally:
        ember.set_num_threads(old)
    for r in results[1:]:
        for a, b in zip(r, results[0]):
            np.testing.assert_array_equal(a, b)


def test_add_param_group_fills_defaults():
    a, b = ember.zeros(2, requires_grad=True), ember.zeros(3, requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    g = opt.param_groups[1]
    assert len(g["params"]) == 1 and g["params"][0] is b
    assert g["lr"] == 0.01 and g["momentum"] == 0.9 and g["nesterov"] is False


def test_lr_change_takes_effect():
    p = ember.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.5)
    p.grad = ember.tensor([1.0])
    opt.step()
    opt.param_groups[0]["lr"] = 0.25
    opt.step()
    assert p.detach().numpy()[0] == 0.25


def test_repr_and_copy():
    opt = optim.Adam([ember.zeros(2, requires_grad=True)], lr=0.1)
    assert "Parameter Group 0" in repr(opt) and "lr: 0.1" in repr(opt)
    assert copy.copy(opt).param_groups == opt.param_groups


# ---- argument checking ----------------------------------------------------------------------------

BAD = [
    ("SGD", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("SGD", dict(lr=float("nan")), "Invalid learning rate"),
    ("SGD", dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(weight_decay=-1e-3), "Invalid weight_decay value: -0.001"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov momentum requires"),
    ("Adam", dict(lr=-1.0), "Invalid learning rate: -1"),
    ("Adam", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    ("Adam", dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1"),
    ("Adam", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("Adam", dict(weight_decay=-0.1), "Invalid weight_decay value"),
    ("AdamW", dict(betas=(0.9, 1.5)), "Invalid beta parameter at index 1: 1.5"),
    ("Adagrad", dict(lr_decay=-0.1), "Invalid lr_decay value: -0.1"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "Invalid initial_accumulator_value value: -1"),
    ("Adagrad", dict(eps=-1.0), "Invalid epsilon value"),
    ("RMSprop", dict(alpha=-0.5), "Invalid alpha value: -0.5"),
    ("RMSprop", dict(momentum=-0.5), "Invalid momentum value"),
    ("RMSprop", dict(eps=-1.0), "Invalid epsilon value"),
    ("RMSprop", dict(lr=-0.01), "Invalid learning rate"),
]


@pytest.mark.parametrize("name,kw,msg", BAD, ids=[f"{b[0]}-{b[2][:30]}" for b in BAD])
def test_bad_hyperparameters_raise(name, kw, msg):
    with pytest.raises(ValueError, match=msg.replace("(", r"\(")):
        getattr(optim, name)([ember.zeros(2, requires_grad=True)], **kw)


def test_bad_hyperparameter_set_later_raises_at_step():
    p = ember.zeros(2, requires_grad=True)
    opt = optim.Adam([p])
    opt.param_groups[0]["lr"] = -1.0
    p.grad = ember.ones(2)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.step()
    np.testing.assert_array_equal(p.detach().numpy(), np.zeros(2, np.float32))  # nothing written
    assert not opt.state[p] or opt.state[p]["step"].item() == 0


def test_bad_params_raise():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(ember.zeros(2, requires_grad=True), lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([1.0], lr=0.1)
    with pytest.raises(TypeError, match="floating-point"):
        optim.SGD([ember.zeros(2, dtype=ember.int64)], lr=0.1)
    leaf = ember.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([leaf * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [leaf]}, {"params": [leaf]}], lr=0.1)
    with pytest.raises(ValueError, match="duplicate"):
        optim.SGD([leaf, leaf], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {leaf}}], lr=0.1)
    with pytest.raises(NotImplementedError):
        optim.Adam([leaf], differentiable=True)


def test_required_lr():
    class Custom(optim.Optimizer):
        def __init__(self, params, lr=optim.required):
            super().__init__(params, dict(lr=lr))

    with pytest.raises(ValueError, match="required optimization parameter lr"):
        Custom([ember.zeros(1, requires_grad=True)])
    Custom([{"params": [ember.zeros(1, requires_grad=True)], "lr": 0.1}])


def test_bad_gradients_raise():
    p = ember.zeros((2, 3), requires_grad=True)
    with pytest.raises(TypeError, match="dtype"):
        p.grad = ember.zeros(2, 3, dtype=ember.float64)  # refused already when assigned
    with pytest.raises(TypeError, match="dtype"):
        ember._C._optim.adagrad_step([p.detach()], [ember.zeros(2, 3, dtype=ember.float64)], [ember.zeros(2, 3)],
                                     [ember.zeros(())], lr=0.1, lr_decay=0.0, weight_decay=0.0, eps=1e-10,
                                     maximize=False)


def test_functional_steps_check_their_lists():
    F = ember._C._optim
    p = ember.zeros((2, 3))
    g = ember.ones((2, 3))
    kw = dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False)
    with pytest.raises(ValueError, match="one gradient per parameter"):
        F.sgd_step([p], [], [None], **kw)
    with pytest.raises(ValueError, match="shape"):
        F.sgd_step([p], [ember.ones(3)], [None], **kw)
    with pytest.raises(ValueError, match="momentum_buffers"):
        F.sgd_step([p], [g], [], **kw)
    with pytest.raises(ValueError, match="share memory"):
        F.sgd_step([p, p], [g, ember.ones((2, 3))], [None, None], **kw)
    with pytest.raises(ValueError, match="share memory"):
        F.sgd_step([p], [p], [None], **kw)
    with pytest.raises(TypeError, match="floating-point"):
        F.sgd_step([ember.zeros(2, dtype=ember.int64)], [ember.zeros(2, dtype=ember.int64)], [None], **kw)
    akw = dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False)
    m, v = ember.zeros((2, 3)), ember.zeros((2, 3))
    with pytest.raises(ValueError, match="state_steps"):
        F.adam_step([p], [g], [m], [v], [], [ember.zeros(2)], **akw)
    with pytest.raises(ValueError, match="not a step count"):
        F.adam_step([p], [g], [m], [v], [], [ember.tensor(-5.0)], **akw)
    with pytest.raises(ValueError, match="exp_avg_sqs"):
        F.adam_step([p], [g], [m], [ember.zeros(6)], [], [ember.zeros(())], **akw)
    # Nothing was written by the failed calls.
    np.testing.assert_array_equal(p.numpy(), np.zeros((2, 3), np.float32))
    # A valid call: the buffers list comes back filled.
    bufs = F.sgd_step([p], [g], [None], **kw)
    np.testing.assert_array_equal(bufs[0].numpy(), np.ones((2, 3), np.float32))
    np.testing.assert_allclose(p.numpy(), np.full((2, 3), -0.1, np.float32))


def test_empty_group_step_and_no_grads():
    p = ember.zeros(2, requires_grad=True)
    for name in ("SGD", "Adam", "AdamW", "Adagrad", "RMSprop"):
        opt = getattr(optim, name)([p])
        opt.step()  # no gradients at all: nothing happens
        np.testing.assert_array_equal(p.detach().numpy(), np.zeros(2, np.float32))

"""ember.optim.lr_scheduler over ember optimizers: every schedule against torch's over 100 epochs
(two param groups), chaining, explicit epochs, ReduceLROnPlateau, resuming from a state dict and
the 'initial_lr' bookkeeping; closed-form checks that need no torch."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.optim as optim
from ember.optim import lr_scheduler as S

EPOCHS = 100

SCHEDULES = [
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e)),
    ("LambdaLR", dict(lr_lambda=[lambda e: 1.0 / (1 + e), lambda e: 0.5 * (e % 3 + 1)])),
    ("StepLR", dict(step_size=7, gamma=0.3)),
    ("StepLR", dict(step_size=1, gamma=0.97)),
    ("MultiStepLR", dict(milestones=[10, 30, 30, 80], gamma=0.1)),
    ("MultiStepLR", dict(milestones=[50, 5], gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.93)),
    ("CosineAnnealingLR", dict(T_max=17, eta_min=0.001)),  # several periods: torch's recursion past T_max
    ("CosineAnnealingLR", dict(T_max=100)),
    ("LinearLR", dict(start_factor=0.2, end_factor=0.9, total_iters=25)),
    ("LinearLR", dict()),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULES)]


def ember_opt(kind="SGD"):
    a, b = ember.zeros(2, requires_grad=True), ember.zeros(3, requires_grad=True)
    return getattr(optim, kind)([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1)


def torch_opt(torch, kind="SGD"):
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    return getattr(torch.optim, kind)([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1)


def lrs(opt):
    return [g["lr"] for g in opt.param_groups]


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-12, atol=0)


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("name,kw", SCHEDULES, ids=IDS)
def test_schedule_matches_torch(torch, name, kw, kind):
    eo, to = ember_opt(kind), torch_opt(torch, kind)
    es, ts = getattr(S, name)(eo, **kw), getattr(torch.optim.lr_scheduler, name)(to, **kw)
    close(es.get_last_lr(), ts.get_last_lr())
    close(lrs(eo), lrs(to))
    for _ in range(EPOCHS):
        eo.step()
        to.step()
        es.step()
        ts.step()
        close(es.get_last_lr(), ts.get_last_lr())
        close(lrs(eo), lrs(to))
        assert es.last_epoch == ts.last_epoch
    assert [g["initial_lr"] for g in eo.param_groups] == [g["initial_lr"] for g in to.param_groups]


@pytest.mark.parametrize("pair", [
    (("LinearLR", dict(start_factor=0.1, total_iters=10)), ("ExponentialLR", dict(gamma=0.9))),
    (("StepLR", dict(step_size=5, gamma=0.5)), ("MultiStepLR", dict(milestones=[12, 40], gamma=0.2))),
    (("LinearLR", dict(start_factor=0.5, total_iters=8)), ("CosineAnnealingLR", dict(T_max=30, eta_min=0.0))),
], ids=["warmup-exp", "step-multistep", "warmup-cosine"])
def test_chained_schedules_match_torch(torch, pair):
    eo, to = ember_opt(), torch_opt(torch)
    es = [getattr(S, n)(eo, **kw) for n, kw in pair]
    ts = [getattr(torch.optim.lr_scheduler, n)(to, **kw) for n, kw in pair]
    close(lrs(eo), lrs(to))
    for _ in range(EPOCHS):
        eo.step()
        to.step()
        for s in es + ts:
            s.step()
        close(lrs(eo), lrs(to))


@pytest.mark.parametrize("name,kw", [s for s in SCHEDULES if s[0] != "LambdaLR"],
                         ids=[i for i, s in zip(IDS, SCHEDULES) if s[0] != "LambdaLR"])
def test_explicit_epoch_uses_closed_form(torch, name, kw):
    import warnings

    eo, to = ember_opt(), torch_opt(torch)
    es, ts = getattr(S, name)(eo, **kw), getattr(torch.optim.lr_scheduler, name)(to, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in [3, 10, 11, 40, 7, 99]:
            es.step(epoch)
            ts.step(epoch)
            close(lrs(eo), lrs(to))


@pytest.mark.parametrize("name,kw", [s for s in SCHEDULES if s[0] != "LambdaLR"],
                         ids=[i for i, s in zip(IDS, SCHEDULES) if s[0] != "LambdaLR"])
def test_recursive_values_equal_closed_form(name, kw):
    """No torch needed: the stepped lrs follow each schedule's textbook formula."""
    opt = ember_opt()
    sched = getattr(S, name)(opt, **kw)
    for epoch in range(1, EPOCHS):
        opt.step()
        sched.step()
        want = [sched.lr_at(epoch, b) for b in sched.base_lrs]
        np.testing.assert_allclose(lrs(opt), want, rtol=1e-9, atol=1e-15)


def test_inverse_time_and_sqrt_match_torch_lambda(torch):
    for ours, lam in [(lambda o: S.InverseTimeLR(o, decay_rate=0.1), lambda e: 1 / (1 + 0.1 * e)),
                      (lambda o: S.InverseSqrtLR(o), lambda e: 1 / math.sqrt(1 + e)),
                      (lambda o: S.InverseSqrtLR(o, warmup=10),
                       lambda e: (e + 1) / 10 if e < 10 else 1 / math.sqrt(1 + (e - 10) / 10))]:
        eo, to = ember_opt(), torch_opt(torch)
        es, ts = ours(eo), torch.optim.lr_scheduler.LambdaLR(to, lam)
        for _ in range(EPOCHS):
            eo.step()
            to.step()
            es.step()
            ts.step()
            close(lrs(eo), lrs(to))


METRICS = [1.0, 0.9, 0.9, 0.91, 0.9, 0.9, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.79999, 0.7] * 8


@pytest.mark.parametrize("kw", [
    dict(),
    dict(mode="max", factor=0.5, patience=1),
    dict(patience=2, threshold=0.05, threshold_mode="abs", cooldown=2),
    dict(patience=0, factor=0.3, min_lr=[0.01, 0.001]),
    dict(patience=1, factor=0.5, min_lr=0.02, eps=1e-3),
], ids=["default", "max", "abs-cooldown", "min_lr-list", "eps"])
def test_reduce_on_plateau_matches_torch(torch, kw):
    eo, to = ember_opt(), torch_opt(torch)
    es = S.ReduceLROnPlateau(eo, **kw)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(to, **kw)
    for m in METRICS:
        eo.step()
        to.step()
        es.step(m)
        ts.step(m)
        close(lrs(eo), lrs(to))
        close(es.get_last_lr(), ts.get_last_lr())
        assert es.num_bad_epochs == ts.num_bad_epochs


def test_reduce_on_plateau_checks():
    opt = ember_opt()
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        S.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode"):
        S.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="threshold mode"):
        S.ReduceLROnPlateau(opt, threshold_mode="pct")


def test_reduce_on_plateau_numbers():
    p = ember.zeros(1, requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    s = S.ReduceLROnPlateau(opt, patience=2, factor=0.5)
    for m in [1.0, 1.0, 1.0]:
        s.step(m)
    assert opt.param_groups[0]["lr"] == 1.0
    s.step(1.0)  # the third epoch without improvement
    assert opt.param_groups[0]["lr"] == 0.5


@pytest.mark.parametrize("name,kw", SCHEDULES[2:], ids=IDS[2:])
def test_state_dict_resume(name, kw):
    """Scheduler + optimizer state dicts: a resumed pair continues exactly where it stopped."""
    opt = ember_opt()
    sched = getattr(S, name)(opt, **kw)
    for _ in range(30):
        opt.step()
        sched.step()
    s_state, o_state = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in s_state
    ref = []
    for _ in range(30):
        opt.step()
        sched.step()
        ref.append(lrs(opt))
    # torch's order: build optimizer and scheduler, then load both (the optimizer's lrs last
    # overwrite what the new scheduler's first step set).
    opt2 = ember_opt()
    sched2 = getattr(S, name)(opt2, **kw)
    opt2.load_state_dict(o_state)
    sched2.load_state_dict(s_state)
    got = []
    for _ in range(30):
        opt2.step()
        sched2.step()
        got.append(lrs(opt2))
    assert got == ref


def test_resume_with_last_epoch(torch):
    """last_epoch >= 0 needs 'initial_lr' in every group (torch's KeyError), and then continues."""
    opt = ember_opt()
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(opt, step_size=3, last_epoch=5)
    eo, to = ember_opt(), torch_opt(torch)
    for o in (eo, to):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"] * 2
    es = S.ExponentialLR(eo, gamma=0.5, last_epoch=4)
    ts = torch.optim.lr_scheduler.ExponentialLR(to, gamma=0.5, last_epoch=4)
    close(lrs(eo), lrs(to))
    assert es.base_lrs == ts.base_lrs and es.last_epoch == ts.last_epoch
    for _ in range(5):
        es.step()
        ts.step()
        close(lrs(eo), lrs(to))


def test_initial_lr_is_set_once():
    opt = ember_opt()
    S.StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    opt.param_groups[0]["lr"] = 0.3
    S.ExponentialLR(opt, gamma=0.5)  # a second scheduler keeps the first's initial_lr
    assert opt.param_groups[0]["initial_lr"] == 0.1


def test_scheduler_drives_the_optimizer():
    """The lr a schedule sets is the one the next step uses."""
    p = ember.tensor([0.0], requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = S.StepLR(opt, step_size=2, gamma=0.5)
    moved = []
    for _ in range(6):
        before = p.detach().numpy()[0]
        p.grad = ember.tensor([1.0])
        opt.step()
        sched.step()
        moved.append(before - p.detach().numpy()[0])
    np.testing.assert_allclose(moved, [1, 1, 0.5, 0.5, 0.25, 0.25])


def test_bad_arguments():
    opt = ember_opt()
    with pytest.raises(TypeError, match="not an Optimizer"):
        S.StepLR(object(), step_size=1)
    with pytest.raises(ValueError):
        S.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        S.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Ending multiplicative factor"):
        S.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
        S.LambdaLR(opt, [lambda e: 1.0])

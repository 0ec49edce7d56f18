"""Results do not depend on the thread count: matmul, conv2d, reductions, softmax/cross_entropy,
batch_norm and an optimizer step (forward and backward) give bitwise identical results with
ember.set_num_threads(1) and (2). Sizes are above the kernels' OpenMP thresholds, so the
threaded paths really run."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F


@pytest.fixture
def restore_threads():
    n = ember.get_num_threads()
    yield
    ember.set_num_threads(n)


def _run(fn, threads):
    ember.set_num_threads(threads)
    assert ember.get_num_threads() == threads
    ember.manual_seed(0)
    return [np.array(o.detach().numpy(), copy=True) for o in fn()]


def _same_bits(fn):
    one = _run(fn, 1)
    two = _run(fn, 2)
    assert len(one) == len(two)
    for k, (a, b) in enumerate(zip(one, two)):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert a.tobytes() == b.tobytes(), f"output {k} differs between 1 and 2 threads: max diff {np.abs(a - b).max()}"


def _leaf(*shape, dtype=ember.float32):
    return ember.randn(*shape, dtype=dtype).requires_grad_()


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_matmul(restore_threads, dtype):
    def fn():
        a, b = _leaf(300, 257, dtype=dtype), _leaf(257, 190, dtype=dtype)
        c, d = _leaf(6, 40, 70, dtype=dtype), _leaf(70, 50, dtype=dtype)
        y = a @ b
        z = c @ d
        (y.sum() + (z * z).sum()).backward()
        return [y, z, a.grad, b.grad, c.grad, d.grad]

    _same_bits(fn)


def test_conv2d(restore_threads):
    def fn():
        x, w, b = _leaf(8, 6, 30, 30), _leaf(16, 6, 3, 3), _leaf(16)
        y = F.conv2d(x, w, b, stride=1, padding=1)
        y2 = F.conv2d(x, _leaf(4, 3, 5, 5), stride=2, groups=2)
        p = F.max_pool2d(y, 2)
        (p.sum() + y2.pow(2).sum()).backward()
        return [y, y2, p, x.grad, w.grad, b.grad]

    _same_bits(fn)


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_reductions(restore_threads, dtype):
    def fn():
        x = _leaf(1000, 1100, dtype=dtype)
        outs = [x.sum(), x.mean(), x.var(), x.std(), x.sum(0), x.sum(1), x.mean(0, keepdim=True), x.var(1),
                ember.logsumexp(x, 1), ember.logsumexp(x, 0), x.max(), x.max(0)[0], x.argmax(1), x.min(1)[0],
                x.t().sum(1), x[:, ::3].sum()]
        (outs[0] + outs[3] + outs[8].sum() + outs[11].sum()).backward()
        return outs + [x.grad]

    _same_bits(fn)


def test_softmax_cross_entropy(restore_threads):
    def fn():
        logits = _leaf(4096, 100)
        target = ember.randint(0, 100, (4096,))
        s = F.softmax(logits, dim=1)
        ls = F.log_softmax(logits, dim=0)
        loss = F.cross_entropy(logits, target)
        loss2 = F.cross_entropy(logits, target, label_smoothing=0.1) if _has_smoothing() else loss
        (loss + loss2 + (s * ls).sum()).backward()
        return [s, ls, loss, loss2, logits.grad]

    _same_bits(fn)


def _has_smoothing():
    try:
        F.cross_entropy(ember.zeros(1, 2), ember.tensor([0]), label_smoothing=0.1)
        return True
    except TypeError:
        return False


def test_batch_norm(restore_threads):
    def fn():
        x, w, b = _leaf(32, 64, 16, 16), _leaf(64), _leaf(64)
        rm, rv = ember.zeros(64), ember.ones(64)
        y = F.batch_norm(x, rm, rv, weight=w, bias=b, training=True, momentum=0.1, eps=1e-5)
        ln = F.layer_norm(x, (16, 16))
        (y.pow(2).sum() + ln.sum()).backward()
        return [y, ln, rm, rv, x.grad, w.grad, b.grad]

    _same_bits(fn)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_optimizer_step(restore_threads, opt_name):
    optim = pytest.importorskip("ember.optim")
    nn = ember.nn
    if not hasattr(optim, opt_name):
        pytest.skip(f"no ember.optim.{opt_name}")

    def fn():
        model = nn.Sequential(nn.Linear(300, 512), nn.ReLU(), nn.Linear(512, 200))
        kw = {"lr": 1e-2}
        if opt_name == "SGD":
            kw.update(momentum=0.9, weight_decay=1e-4)
        opt = getattr(optim, opt_name)(model.parameters(), **kw)
        x, y = ember.randn(256, 300), ember.randint(0, 200, (256,))
        for _ in range(3):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        return [p.detach() for p in model.parameters()]

    _same_bits(fn)


def test_elementwise_large(restore_threads):
    def fn():
        a, b = _leaf(2000, 600), _leaf(600)
        y = ember.exp(a * 0.1) / (1 + b.abs()) - ember.sqrt(a.abs() + 1) + ember.tanh(a) * F.gelu(a)
        y.sum().backward()
        return [y, a.grad, b.grad]

    _same_bits(fn)

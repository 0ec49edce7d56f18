"""The autograd engine: requires_grad, accumulation, retain_graph, freed graphs, no_grad,
detach, autograd.grad, retain_grad, deep chains and diamonds."""
import gc

import numpy as np
import pytest

import ember
from conftest import check, run_python


def test_requires_grad_flags():
    x = ember.tensor([1.0, 2.0])
    assert not x.requires_grad and x.is_leaf
    x.requires_grad_()
    assert x.requires_grad and x.is_leaf and x.grad is None
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    z = ember.tensor([1.0]) * 2
    assert not z.requires_grad and z.grad_fn is None
    with pytest.raises(RuntimeError, match="floating point"):
        ember.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False
    x.requires_grad = False
    assert not x.requires_grad


def test_grad_fn_names_and_next_functions():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).sum()
    assert y.grad_fn.name() == "SumBackward"
    (mul_node, _), = y.grad_fn.next_functions
    assert mul_node.name() == "MulBackward"
    assert mul_node.next_functions[0][0].name() == "AccumulateGrad"


def test_grad_accumulates_across_backward_calls():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    check(x.grad, [2.0, 4.0, 6.0])
    (x * 3).sum().backward()  # a new graph over the same leaf
    check(x.grad, [5.0, 7.0, 9.0])
    y = (x ** 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    check(x.grad, [9.0, 15.0, 21.0])
    x.grad = None
    (x * 1).sum().backward()
    check(x.grad, [1.0, 1.0, 1.0])


def test_grad_buffer_not_aliased():
    # the first .grad must not share memory with a tensor that lives on in the graph
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    g = ember.tensor([1.0, 1.0])
    y = x * 1
    y.backward(g)
    x.grad += 10
    check(g, [1.0, 1.0])


def test_backward_with_gradient_and_retain_graph():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * x
    y.backward(gradient=ember.tensor([[1.0, 0.0], [0.5, 2.0]]), retain_graph=True)
    check(x.grad, [[2.0, 0.0], [3.0, 16.0]])
    y.backward(ember.ones(2, 2))
    check(x.grad, [[4.0, 4.0], [9.0, 24.0]])
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward(ember.ones(2, 2))


def test_backward_errors():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        (x * 2).backward()
    with pytest.raises(ValueError, match="Mismatch in shape"):
        (x * 2).backward(ember.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        ember.ones(1).backward()


def test_backward_gradient_dtype_is_converted():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).backward(ember.tensor([1.0, 1.0], dtype=ember.float64))
    assert x.grad.dtype == ember.float32
    check(x.grad, [2.0, 2.0])


def test_no_grad_context_and_decorator():
    x = ember.tensor([1.0], requires_grad=True)
    with ember.no_grad():
        assert not ember.is_grad_enabled()
        y = x * 2
        with ember.enable_grad():
            assert (x * 2).requires_grad
    assert ember.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @ember.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad and ember.is_grad_enabled()

    @ember.no_grad
    def g(t):
        return t * 2

    assert not g(x).requires_grad and ember.is_grad_enabled()
    assert f.__name__ == "f" and g.__name__ == "g"

    # restored after an exception
    with pytest.raises(KeyError):
        with ember.no_grad():
            raise KeyError()
    assert ember.is_grad_enabled()


def test_set_grad_enabled():
    x = ember.tensor([1.0], requires_grad=True)
    with ember.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert ember.is_grad_enabled()
    ember.set_grad_enabled(False)
    assert not ember.is_grad_enabled()
    ember.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_detach():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert d.data_ptr() == y.data_ptr()
    z = (d * x).sum()
    z.backward()
    check(x.grad, [2.0, 4.0])  # d treated as a constant
    y2 = x * 3
    y2.detach_()
    assert y2.grad_fn is None and not y2.requires_grad


def test_autograd_grad():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    w = ember.tensor([3.0, 4.0], requires_grad=True)
    u = ember.tensor([1.0, 1.0], requires_grad=True)
    y = (x * w).sum()
    gx, gw = ember.autograd.grad(y, [x, w], retain_graph=True)
    check(gx, [3.0, 4.0])
    check(gw, [1.0, 2.0])
    assert x.grad is None and w.grad is None  # .grad untouched
    (gx,) = ember.autograd.grad([y], x, retain_graph=True)
    check(gx, [3.0, 4.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        ember.autograd.grad(y, [x, u], retain_graph=True)
    gx, gu = ember.autograd.grad(y, [x, u], allow_unused=True, retain_graph=True)
    assert gu is None
    check(gx, [3.0, 4.0])
    # with respect to an intermediate tensor, and with grad_outputs
    h = x * 2
    out = h * h
    (gh,) = ember.autograd.grad(out, h, grad_outputs=ember.tensor([1.0, 0.5]))
    check(gh, [4.0, 4.0])
    assert x.grad is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        ember.autograd.grad(y, ember.ones(2))
    with pytest.raises(NotImplementedError):
        ember.autograd.grad(y, x, create_graph=True)


def test_autograd_backward_many():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    a, b = x * 2, (x * x).sum()
    ember.autograd.backward([a, b], [ember.ones(2), None])
    check(x.grad, [2.0 + 2.0, 2.0 + 4.0])


def test_retain_grad():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    assert h.retains_grad
    y = (h * h).sum()
    y.backward()
    check(h.grad, [6.0, 12.0])
    check(x.grad, [18.0, 36.0])
    mid = x * 1
    assert mid.grad is None  # not retained


def test_diamond_graph():
    x = ember.tensor([2.0], requires_grad=True)
    a = x * 3
    b = a * a        # 9x^2
    c = a + 1        # 3x + 1
    d = (b * c).sum()  # 27x^3 + 9x^2 -> d' = 81x^2 + 18x
    d.backward()
    check(x.grad, [81 * 4 + 18 * 2])
    # same input used twice in one op
    y = ember.tensor([3.0], requires_grad=True)
    (y * y).sum().backward()
    check(y.grad, [6.0])
    z = ember.tensor([3.0], requires_grad=True)
    (z + z + z).sum().backward()
    check(z.grad, [3.0])


def test_multi_output_ops_backward():
    x = ember.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    p, q, r = ember.split(x, [1, 1, 2], dim=1)
    (p.sum() * 1 + q.sum() * 2 + r.sum() * 3).backward()
    check(x.grad, np.tile([1.0, 2.0, 3.0, 3.0], (3, 1)))


def test_long_chain_backward_and_free():
    x = ember.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.sum().backward()
    check(x.grad, [1.0])
    del y
    gc.collect()


def test_long_chain_freed_without_backward():
    # destroying a deep graph must not recurse once per node (stack overflow): run it in a
    # subprocess so that a crash is reported as a failure, not as a dead test runner
    r = run_python("""
        import ember
        x = ember.ones(1, requires_grad=True)
        y = x
        for _ in range(200_000):
            y = y + 1.0
        del y
        z = x
        for _ in range(200_000):
            z = z.exp().log()
        z.sum().backward()
        print("ok", x.grad.item())
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "ok 1.0" in r.stdout


def test_unused_branch_does_not_block():
    x = ember.tensor([1.0], requires_grad=True)
    a = x * 2
    _unused = a * 5  # depends on a but is not part of the loss
    (a * 3).sum().backward()
    check(x.grad, [6.0])


def test_grad_of_non_float_outputs():
    x = ember.tensor([1.0, 5.0, 3.0], requires_grad=True)
    idx = ember.argmax(x)
    assert not idx.requires_grad
    v, i = ember.max(x, 0)
    assert v.requires_grad and not i.requires_grad
    v.backward()
    check(x.grad, [0.0, 1.0, 0.0])

"""Every nn layer against the torch module of the same name: weights copied by state_dict name
(so the names must be torch's), then outputs, input gradients and every parameter gradient
compared; stateful layers (BatchNorm) over several train steps and in eval; containers."""
from collections import OrderedDict

import numpy as np
import pytest

import ember
import ember.nn as nn
from layer_helpers import assert_close, compare_module, copy_weights, np_of

DTYPES = [np.float32, np.float64]
T_DT = {np.float32: "float32", np.float64: "float64"}
E_DT = {np.float32: ember.float32, np.float64: ember.float64}


def pair(torch, name, *args, dtype=np.float64, **kwargs):
    """The ember and torch modules `name` built with the same arguments, torch's weights copied."""
    e_kwargs, t_kwargs = dict(kwargs), dict(kwargs)
    if dtype is not None:
        e_kwargs["dtype"], t_kwargs["dtype"] = E_DT[dtype], getattr(torch, T_DT[dtype])
    em, tm = getattr(nn, name)(*args, **e_kwargs), getattr(torch.nn, name)(*args, **t_kwargs)
    copy_weights(torch, em, tm)
    return em, tm


class ERelu(nn.Module):  # activation modules come from another change; ember.relu is a core op
    def forward(self, x):
        return ember.relu(x)


# --- Linear and convolutions ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("in_f,out_f,bias,xshape", [(5, 3, True, (4, 5)), (5, 3, False, (4, 5)), (7, 2, True, (2, 3, 7)),
                                                    (4, 6, True, (4,)), (784, 256, True, (16, 784))])
def test_linear(torch, dtype, in_f, out_f, bias, xshape, rng):
    em, tm = pair(torch, "Linear", in_f, out_f, bias=bias, dtype=dtype)
    assert [n for n, _ in em.named_parameters()] == (["weight", "bias"] if bias else ["weight"])
    compare_module(torch, em, tm, rng.standard_normal(xshape).astype(dtype), dtype, scale=10)


CONV2D_ARGS = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=3, out_channels=6, kernel_size=(3, 2), stride=2, padding=1),
    dict(in_channels=4, out_channels=6, kernel_size=3, padding=2, dilation=2, groups=2),
    dict(in_channels=4, out_channels=4, kernel_size=3, padding=1, groups=4),  # depthwise
    dict(in_channels=3, out_channels=6, kernel_size=3, padding=1, groups=3, bias=False),  # depthwise multiplier 2
    dict(in_channels=2, out_channels=5, kernel_size=1),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding="same"),
    dict(in_channels=2, out_channels=3, kernel_size=(1, 3), stride=(2, 1), padding="valid", bias=False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("args", CONV2D_ARGS)
def test_conv2d(torch, dtype, args, rng):
    em, tm = pair(torch, "Conv2d", dtype=dtype, **args)
    x = rng.standard_normal((3, args["in_channels"], 9, 8)).astype(dtype)
    compare_module(torch, em, tm, x, dtype, scale=10)
    assert repr(em) == repr(tm)


CONV1D_ARGS = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=4, out_channels=8, kernel_size=5, stride=2, padding=2, groups=4),
    dict(in_channels=2, out_channels=2, kernel_size=3, dilation=3, padding=1, bias=False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("args", CONV1D_ARGS)
def test_conv1d(torch, dtype, args, rng):
    em, tm = pair(torch, "Conv1d", dtype=dtype, **args)
    compare_module(torch, em, tm, rng.standard_normal((2, args["in_channels"], 13)).astype(dtype), dtype, scale=10)
    assert repr(em) == repr(tm)


# --- pooling -----------------------------------------------------------------------------------------
def _distinct(rng, shape, dtype=np.float64):
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01).astype(dtype)


@pytest.mark.parametrize("args", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                  dict(kernel_size=(2, 3), stride=1, dilation=2, ceil_mode=True),
                                  dict(kernel_size=3, stride=2, ceil_mode=True)])
def test_max_pool2d(torch, args, rng):
    em, tm = pair(torch, "MaxPool2d", dtype=None, **args)
    compare_module(torch, em, tm, _distinct(rng, (2, 3, 9, 7)))
    assert repr(em) == repr(tm)
    ei, ti = (pair(torch, "MaxPool2d", dtype=None, return_indices=True, **args))
    x = _distinct(rng, (2, 3, 9, 7))
    (ey, eidx), (ty, tidx) = ei(ember.tensor(x)), ti(torch.tensor(x))
    assert_close(ey, ty)
    np.testing.assert_array_equal(np_of(eidx), tidx.numpy())


@pytest.mark.parametrize("args", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                  dict(kernel_size=2, dilation=2, return_indices=True)])
def test_max_pool1d(torch, args, rng):
    em, tm = pair(torch, "MaxPool1d", dtype=None, **args)
    x = _distinct(rng, (2, 3, 11))
    if args.get("return_indices"):
        (ey, ei), (ty, ti) = em(ember.tensor(x)), tm(torch.tensor(x))
        assert_close(ey, ty)
        np.testing.assert_array_equal(np_of(ei), ti.numpy())
    else:
        compare_module(torch, em, tm, x)
    assert repr(em) == repr(tm)


@pytest.mark.parametrize("args", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                  dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
                                  dict(kernel_size=(2, 3), stride=2, ceil_mode=True)])
def test_avg_pool2d(torch, args, rng):
    em, tm = pair(torch, "AvgPool2d", dtype=None, **args)
    compare_module(torch, em, tm, rng.standard_normal((2, 3, 9, 8)))
    assert repr(em) == repr(tm)


@pytest.mark.parametrize("out", [1, (3, 2), (None, 4), 5])
def test_adaptive_avg_pool2d(torch, out, rng):
    em, tm = pair(torch, "AdaptiveAvgPool2d", out, dtype=None)
    compare_module(torch, em, tm, rng.standard_normal((2, 3, 7, 9)))
    assert repr(em) == repr(tm)


# --- normalisation ----------------------------------------------------------------------------------
def _bn_steps(torch, em, tm, shape, dtype, rng, steps=4):
    for step in range(steps):
        x = (rng.standard_normal(shape) * (1 + step) + step).astype(dtype)
        compare_module(torch, em, tm, x, dtype, scale=10)
        for name, tb in tm.named_buffers():
            eb = dict(em.named_buffers())[name]
            if name == "num_batches_tracked":
                assert int(eb.item()) == int(tb.item()), name
            else:
                assert_close(eb, tb, dtype, name, scale=10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,shape", [("BatchNorm1d", (8, 4)), ("BatchNorm1d", (6, 4, 5)),
                                        ("BatchNorm2d", (4, 4, 5, 3))])
@pytest.mark.parametrize("kwargs", [{}, dict(momentum=None), dict(momentum=0.3, eps=1e-3), dict(affine=False),
                                    dict(track_running_stats=False)])
def test_batch_norm_train_then_eval(torch, dtype, name, shape, kwargs, rng):
    em, tm = pair(torch, name, 4, dtype=dtype, **kwargs)
    with torch.no_grad():  # non-trivial affine parameters
        for p in tm.parameters():
            p.copy_(torch.tensor(rng.uniform(0.5, 1.5, p.shape)))
    copy_weights(torch, em, tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    _bn_steps(torch, em, tm, shape, dtype, rng)
    em.eval(), tm.eval()
    assert not em.training
    _bn_steps(torch, em, tm, shape, dtype, rng, steps=2)  # running statistics, no updates
    em.train(), tm.train()
    _bn_steps(torch, em, tm, shape, dtype, rng, steps=1)
    assert repr(em) == repr(tm)


def test_batch_norm_dims_checked():
    with pytest.raises(ValueError, match="2D or 3D"):
        nn.BatchNorm1d(3)(ember.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match="4D"):
        nn.BatchNorm2d(3)(ember.zeros(2, 3))
    with pytest.raises(ValueError, match="more than 1 value"):
        nn.BatchNorm1d(3)(ember.zeros(1, 3))
    nn.BatchNorm1d(3).eval()(ember.zeros(1, 3))  # fine in eval


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nshape,xshape,kwargs", [(5, (3, 5), {}), ((2, 5), (4, 2, 5), {}),
                                                  (6, (2, 3, 6), dict(elementwise_affine=False)),
                                                  (6, (2, 6), dict(bias=False, eps=1e-3))])
def test_layer_norm(torch, dtype, nshape, xshape, kwargs, rng):
    em, tm = pair(torch, "LayerNorm", nshape, dtype=dtype, **kwargs)
    with torch.no_grad():
        for p in tm.parameters():
            p.copy_(torch.tensor(rng.uniform(0.5, 1.5, p.shape)))
    copy_weights(torch, em, tm)
    compare_module(torch, em, tm, (rng.standard_normal(xshape) * 2 + 1).astype(dtype), dtype, scale=10)
    assert repr(em) == repr(tm)


# --- dropout -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["Dropout", "Dropout2d"])
def test_dropout_modules(torch, name, rng):
    em, tm = pair(torch, name, 0.3, dtype=None)
    assert repr(em) == repr(tm)
    x = rng.standard_normal((16, 32, 6, 6))
    ember.manual_seed(0)
    y = np_of(em(ember.tensor(x)))
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.7)
    if name == "Dropout2d":
        assert np.all(kept == kept[:, :, :1, :1])
        frac = 1 - kept[:, :, 0, 0].mean()
        assert abs(frac - 0.3) < 5 * np.sqrt(0.3 * 0.7 / (16 * 32))
    else:
        assert abs((1 - kept.mean()) - 0.3) < 5 * np.sqrt(0.3 * 0.7 / x.size)
    em.eval(), tm.eval()
    compare_module(torch, em, tm, x)  # identity in eval
    em.train()
    ember.manual_seed(0)
    np.testing.assert_array_equal(np_of(em(ember.tensor(x))), y)  # repeatable with the seed
    with pytest.raises(ValueError, match="between 0 and 1"):
        getattr(nn, name)(1.5)


# --- shape layers, embedding, identity ------------------------------------------------------------
def test_flatten_unflatten_identity(torch, rng):
    x = rng.standard_normal((2, 3, 4, 5))
    for name, args in [("Flatten", ()), ("Flatten", (0, 2)), ("Flatten", (2,)), ("Unflatten", (1, (3, 1))),
                       ("Unflatten", (-1, (5, 1))), ("Identity", (3,))]:
        em, tm = pair(torch, name, *args, dtype=None)
        compare_module(torch, em, tm, x)
        assert repr(em) == repr(tm)
    em, tm = pair(torch, "Unflatten", 1, (2, 6), dtype=None)
    compare_module(torch, em, tm, rng.standard_normal((4, 12)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 0, 2, -1])
def test_embedding(torch, dtype, padding_idx, rng):
    em, tm = pair(torch, "Embedding", 6, 4, padding_idx=padding_idx, dtype=dtype)
    assert em.padding_idx == tm.padding_idx
    assert repr(em) == repr(tm)
    idx = rng.integers(0, 6, (3, 5)).astype(np.int64)
    idx[0, :3] = 5
    compare_module(torch, em, tm, idx, dtype, check_input_grad=False)
    if padding_idx is not None:
        fresh = nn.Embedding(6, 4, padding_idx=padding_idx)
        np.testing.assert_array_equal(np_of(fresh.weight)[padding_idx], 0)
    with pytest.raises(IndexError, match="out of range"):
        em(ember.tensor([6]))


def test_embedding_from_pretrained(torch):
    w = ember.tensor(np.arange(12.0).reshape(4, 3))
    em = nn.Embedding.from_pretrained(w)
    tm = torch.nn.Embedding.from_pretrained(torch.tensor(np_of(w)))
    assert em.weight.requires_grad == tm.weight.requires_grad is False
    assert_close(em(ember.tensor([3, 1])), tm(torch.tensor([3, 1])))
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad


# --- containers ------------------------------------------------------------------------------------
def _mlps(torch):
    e = nn.Sequential(nn.Linear(6, 5, dtype=ember.float64), ERelu(), nn.Linear(5, 4, dtype=ember.float64),
                      ERelu(), nn.Linear(4, 3, dtype=ember.float64))
    t = torch.nn.Sequential(torch.nn.Linear(6, 5, dtype=torch.float64), torch.nn.ReLU(),
                            torch.nn.Linear(5, 4, dtype=torch.float64), torch.nn.ReLU(),
                            torch.nn.Linear(4, 3, dtype=torch.float64))
    copy_weights(torch, e, t)
    return e, t


def test_sequential_indexing_and_slicing(torch, rng):
    e, t = _mlps(torch)
    x = rng.standard_normal((7, 6))
    compare_module(torch, e, t, x)
    assert len(e) == len(t) == 5
    assert isinstance(e[0], nn.Linear) and e[-1] is list(e)[4]
    for sl in (slice(0, 3), slice(2, None), slice(None, None, 2)):
        es, ts = e[sl], t[sl]
        assert isinstance(es, nn.Sequential)
        assert list(es.state_dict()) == list(ts.state_dict())
        h = rng.standard_normal((3, es[0].in_features))
        compare_module(torch, es, ts, h)
    with pytest.raises(IndexError):
        e[5]
    e[1] = nn.Identity()
    assert isinstance(e[1], nn.Identity)
    del e[1], t[1]
    assert list(e.state_dict()) == list(t.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias",
                                                            "3.weight", "3.bias"]
    e.append(nn.Identity())
    assert len(e) == 5


def test_sequential_ordered_dict_names(torch):
    e = nn.Sequential(OrderedDict([("fc1", nn.Linear(3, 4)), ("act", ERelu()), ("fc2", nn.Linear(4, 2))]))
    t = torch.nn.Sequential(OrderedDict([("fc1", torch.nn.Linear(3, 4)), ("act", torch.nn.ReLU()),
                                         ("fc2", torch.nn.Linear(4, 2))]))
    assert list(e.state_dict()) == list(t.state_dict())
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    e.insert(1, nn.Identity())
    assert [n for n, _ in e.named_children()] == ["0", "1", "2", "3"]


def test_module_list_and_dict(torch, rng):
    class ENet(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(4, 4, dtype=ember.float64) for _ in range(3)])
            self.heads = nn.ModuleDict({"a": nn.Linear(4, 2, dtype=ember.float64),
                                        "b": nn.Linear(4, 1, dtype=ember.float64)})

        def forward(self, x):
            for blk in self.blocks:
                x = ember.tanh(blk(x))
            return self.heads["a"](x).sum(1) + self.heads["b"](x).sum(1)

    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = torch.nn.ModuleList([torch.nn.Linear(4, 4, dtype=torch.float64) for _ in range(3)])
            self.heads = torch.nn.ModuleDict({"a": torch.nn.Linear(4, 2, dtype=torch.float64),
                                              "b": torch.nn.Linear(4, 1, dtype=torch.float64)})

        def forward(self, x):
            for blk in self.blocks:
                x = torch.tanh(blk(x))
            return self.heads["a"](x).sum(1) + self.heads["b"](x).sum(1)

    e, t = ENet(), TNet()
    copy_weights(torch, e, t)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    compare_module(torch, e, t, rng.standard_normal((5, 4)))
    assert len(e.blocks) == 3 and isinstance(e.blocks[-1], nn.Linear)
    assert len(e.blocks[1:]) == 2 and isinstance(e.blocks[1:], nn.ModuleList)
    assert list(e.heads.keys()) == ["a", "b"] and "a" in e.heads and len(e.heads) == 2
    del e.blocks[0], t.blocks[0]
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert e.heads.pop("b") is not None and list(e.heads) == ["a"]
    with pytest.raises(NotImplementedError):
        e.blocks(ember.zeros(1, 4))


# --- reprs -----------------------------------------------------------------------------------------
def test_leaf_reprs_equal_torch(torch):
    for name, args, kwargs in [("Linear", (3, 4), {}), ("Linear", (3, 4), dict(bias=False)),
                               ("Conv2d", (1, 6, 5), dict(padding=2)), ("BatchNorm2d", (6,), {}),
                               ("BatchNorm1d", (3,), dict(momentum=None, affine=False)),
                               ("LayerNorm", ((2, 3),), {}), ("Dropout", (), {}), ("Embedding", (10, 3), {}),
                               ("Embedding", (10, 3), dict(padding_idx=0)), ("Flatten", (), {}),
                               ("MaxPool2d", (2,), {}), ("AvgPool2d", (2,), {}), ("AdaptiveAvgPool2d", ((1, 1),), {}),
                               ("Identity", (), {}), ("Unflatten", (1, (2, 2)), {})]:
        assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs)), name

"""nn.Module's API: registration, state_dict round trips and load_state_dict errors, train/eval,
zero_grad, apply, traversal order (equal to torch's), repr with parameter counts, parameter
counting, and a small sigmoid network whose forward and backward are worked out by hand."""
import math
from collections import OrderedDict

import numpy as np
import pytest

import ember
import ember.nn as nn
from layer_helpers import np_of


class ESigmoid(nn.Module):  # activation modules come from another change; ember.sigmoid is a core op
    def forward(self, x):
        return ember.sigmoid(x)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.bn = nn.BatchNorm2d(2)
        self.register_buffer("steps", ember.zeros(()))
        self.register_buffer("scratch", ember.zeros(3), persistent=False)

    def forward(self, x):
        return self.bn(self.conv(x))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.flat = nn.Flatten()
        self.head = nn.Sequential(nn.Linear(2 * 4 * 4, 5), nn.Dropout(0.2), nn.Linear(5, 3))
        self.scale = nn.Parameter(ember.ones(1))

    def forward(self, x):
        return self.head(self.flat(self.block(x))) * self.scale


def torch_net(torch):
    tnn = torch.nn

    class TBlock(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv = tnn.Conv2d(1, 2, 3, padding=1)
            self.bn = tnn.BatchNorm2d(2)
            self.register_buffer("steps", torch.zeros(()))
            self.register_buffer("scratch", torch.zeros(3), persistent=False)

    class TNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.block = TBlock()
            self.flat = tnn.Flatten()
            self.head = tnn.Sequential(tnn.Linear(2 * 4 * 4, 5), tnn.Dropout(0.2), tnn.Linear(5, 3))
            self.scale = tnn.Parameter(torch.ones(1))

    return TNet()


def mlp_342():
    return nn.Sequential(nn.Linear(3, 4), ESigmoid(), nn.Linear(4, 2))


# --- counting and repr ------------------------------------------------------------------------------
def test_mlp_3_4_2_has_26_parameters():
    m = mlp_342()
    assert sum(p.numel() for p in m.parameters()) == 26  # 3*4 + 4 + 4*2 + 2
    assert m.num_parameters() == 26
    m[0].weight.requires_grad_(False)
    assert m.num_parameters(trainable_only=True) == 14
    assert "total parameters: 26 (trainable: 14)" in m.summary()


def test_repr_shows_torch_layout_and_parameter_counts():
    r = repr(mlp_342())
    assert r == ("Sequential(\n"
                 "  (0): Linear(in_features=3, out_features=4, bias=True)  # 16 params\n"
                 "  (1): ESigmoid()\n"
                 "  (2): Linear(in_features=4, out_features=2, bias=True)  # 10 params\n"
                 ")")
    nested = repr(Net())
    assert "(block): Block(\n    (conv): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))  # 20 params" \
        in nested
    assert "(head): Sequential(\n    (0): Linear(in_features=32, out_features=5, bias=True)  # 165 params" in nested
    assert "(1): Dropout(p=0.2, inplace=False)\n" in nested


def test_traversal_order_equals_torch(torch):
    e, t = Net(), torch_net(torch)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    assert [type(m).__name__ for m in e.children()] == [type(m).__name__.lstrip("T") for m in t.children()]
    assert list(e.state_dict()) == list(t.state_dict())
    assert [n for n, _ in e.head.named_parameters(prefix="head")] == \
        [n for n, _ in t.head.named_parameters(prefix="head")]
    assert [n for n, _ in e.named_parameters(recurse=False)] == [n for n, _ in t.named_parameters(recurse=False)]


def test_traversal_order_without_torch():
    e = Net()
    assert [n for n, _ in e.named_parameters()] == ["scale", "block.conv.weight", "block.conv.bias",
                                                    "block.bn.weight", "block.bn.bias", "head.0.weight",
                                                    "head.0.bias", "head.2.weight", "head.2.bias"]
    assert list(e.state_dict()) == ["scale", "block.steps", "block.conv.weight", "block.conv.bias",
                                    "block.bn.weight", "block.bn.bias", "block.bn.running_mean",
                                    "block.bn.running_var", "block.bn.num_batches_tracked", "head.0.weight",
                                    "head.0.bias", "head.2.weight", "head.2.bias"]
    assert [n for n, _ in e.named_modules()] == ["", "block", "block.conv", "block.bn", "flat", "head", "head.0",
                                                 "head.1", "head.2"]


def test_shared_modules_and_parameters_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, lin)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.modules())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


# --- state dicts --------------------------------------------------------------------------------------
def test_state_dict_round_trip(rng, tmp_path):
    a, b = Net(), Net()
    a.train()
    a(ember.randn(4, 1, 4, 4))  # moves the running statistics
    b.load_state_dict(a.state_dict())
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(np_of(va), np_of(vb), err_msg=k)
    a.eval(), b.eval()
    x = ember.tensor(rng.standard_normal((3, 1, 4, 4)).astype(np.float32))
    np.testing.assert_array_equal(np_of(a(x)), np_of(b(x)))
    # the state dict holds detached tensors that share storage; keep_vars gives the parameters
    sd = a.state_dict()
    assert not sd["scale"].requires_grad and a.state_dict(keep_vars=True)["scale"] is a.scale
    assert "block.scratch" not in sd  # non-persistent buffer
    # through a file
    c = Net().eval()
    a.save(tmp_path / "net.safetensors")
    c.load(tmp_path / "net.safetensors")
    np.testing.assert_array_equal(np_of(a(x)), np_of(c(x)))
    assert int(c.block.bn.num_batches_tracked.item()) == 1


def test_load_state_dict_copies_values_not_references():
    a, b = mlp_342(), mlp_342()
    sd = a.state_dict()
    b.load_state_dict(sd)
    with ember.no_grad():
        a[0].weight.fill_(3.0)
    assert not np.all(np_of(b[0].weight) == 3.0)
    assert b[0].weight.requires_grad and b[0].weight.is_leaf


def test_load_state_dict_errors():
    m = mlp_342()
    sd = m.state_dict()
    missing = OrderedDict((k, v) for k, v in sd.items() if k != "2.bias")
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "2.bias"'):
        m.load_state_dict(missing)
    extra = OrderedDict(sd, **{"3.weight": ember.zeros(1)})
    with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "3.weight"'):
        m.load_state_dict(extra)
    bad = OrderedDict(sd)
    bad["0.weight"] = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: copying a param with shape \(3, 4\)"):
        m.load_state_dict(bad)
    with pytest.raises(RuntimeError, match="size mismatch"):  # even when not strict
        m.load_state_dict(bad, strict=False)
    before = np_of(m[2].bias).copy()
    result = m.load_state_dict(OrderedDict(missing, **{"junk": ember.zeros(1)}), strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["junk"]
    np.testing.assert_array_equal(np_of(m[2].bias), before)
    # a failed strict load changes nothing
    m2 = mlp_342()
    w = np_of(m2[0].weight).copy()
    with pytest.raises(RuntimeError):
        m2.load_state_dict(OrderedDict(missing, **{"0.weight": ember.ones(4, 3)}))
    np.testing.assert_array_equal(np_of(m2[0].weight), w)


def test_load_state_dict_from_torch(torch):
    t = torch_net(torch)
    e = Net()
    e.load_state_dict({k: ember.tensor(v.numpy().copy()) for k, v in t.state_dict().items()})
    for k, v in t.state_dict().items():
        np.testing.assert_array_equal(np_of(e.state_dict()[k]), v.numpy())


# --- modes, grads, apply ------------------------------------------------------------------------------
def test_train_eval_propagate():
    m = Net()
    assert all(x.training for x in m.modules())
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    m.head.train(False)
    assert m.training and not m.head[1].training
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")

    calls = []

    class Custom(nn.Module):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

    outer = nn.Sequential(Custom())
    outer.eval()
    assert calls == [False]


def test_dropout_follows_mode():
    m = nn.Sequential(nn.Dropout(0.5))
    x = ember.ones(1000)
    assert (np_of(m(x)) == 0).any()
    m.eval()
    np.testing.assert_array_equal(np_of(m(x)), 1.0)


def test_zero_grad():
    m = mlp_342()
    m(ember.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not np.any(np_of(p.grad)) for p in m.parameters())
    m(ember.randn(5, 3)).sum().backward()
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_apply_visits_children_first():
    m = Net()
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Conv2d", "BatchNorm2d", "Block", "Flatten", "Linear", "Dropout", "Linear", "Sequential", "Net"]

    def init_linear(mod):
        if isinstance(mod, nn.Linear):
            nn.init.constant_(mod.weight, 0.5)
            nn.init.zeros_(mod.bias)

    m.apply(init_linear)
    assert np.all(np_of(m.head[0].weight) == 0.5) and np.all(np_of(m.head[2].bias) == 0)


def test_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(ember.ones(2))
    m.register_buffer("b", ember.zeros(2))
    m.sub = nn.Linear(2, 2)
    m.plain = ember.zeros(1)  # a plain tensor attribute is neither parameter nor buffer
    assert [n for n, _ in m.named_parameters()] == ["w", "sub.weight", "sub.bias"]
    assert list(m.state_dict()) == ["w", "b", "sub.weight", "sub.bias"]
    with pytest.raises(TypeError, match="parameter"):
        m.w = ember.zeros(2)
    m.w = None
    assert [n for n, _ in m.named_parameters()] == ["sub.weight", "sub.bias"]
    del m.sub
    assert not hasattr(m, "sub")
    with pytest.raises(KeyError):
        m.register_buffer("a.b", ember.zeros(1))
    with pytest.raises(TypeError):
        m.register_parameter("p", ember.zeros(1))
    with pytest.raises(AttributeError):
        m.missing

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ember.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_requires_grad_and_to_double():
    m = mlp_342()
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    m.double()
    assert all(p.dtype == ember.float64 and p.requires_grad for p in m.parameters())
    assert m(ember.randn(2, 3, dtype=ember.float64)).dtype == ember.float64
    with pytest.raises(TypeError, match="floating point"):
        m.to(ember.int64)


def test_forward_hooks():
    m = nn.Linear(2, 2)
    seen = []
    h = m.register_forward_hook(lambda mod, args, out: seen.append(tuple(out.shape)))
    m(ember.zeros(3, 2))
    h.remove()
    m(ember.zeros(1, 2))
    assert seen == [(3, 2)]


# --- a network worked out by hand ----------------------------------------------------------------------
def test_two_layer_sigmoid_network_by_hand():
    """x -> sigmoid(W1 x + b1) -> sigmoid(W2 h + b2) with loss 0.5 (y - t)^2, all numbers by hand."""
    net = nn.Sequential(nn.Linear(2, 2, dtype=ember.float64), ESigmoid(), nn.Linear(2, 1, dtype=ember.float64),
                        ESigmoid())
    W1, b1 = np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([0.35, 0.35])
    W2, b2 = np.array([[0.40, 0.45]]), np.array([0.60])
    net.load_state_dict({"0.weight": ember.tensor(W1), "0.bias": ember.tensor(b1), "2.weight": ember.tensor(W2),
                         "2.bias": ember.tensor(b2)})
    x, target = np.array([0.05, 0.10]), 0.01

    s = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    z1 = [0.15 * 0.05 + 0.20 * 0.10 + 0.35, 0.25 * 0.05 + 0.30 * 0.10 + 0.35]  # 0.3775, 0.3925
    h = [s(z1[0]), s(z1[1])]  # 0.593269992, 0.596884378
    z2 = 0.40 * h[0] + 0.45 * h[1] + 0.60
    y = s(z2)
    assert abs(z1[0] - 0.3775) < 1e-15 and abs(h[0] - 0.593269992) < 1e-9

    out = net(ember.tensor(x).unsqueeze(0))
    assert abs(out.item() - y) < 1e-15
    loss = 0.5 * (out - target) ** 2
    loss.sum().backward()

    dz2 = (y - target) * y * (1 - y)  # dL/dy * sigmoid'
    dh = [0.40 * dz2, 0.45 * dz2]
    dz1 = [dh[0] * h[0] * (1 - h[0]), dh[1] * h[1] * (1 - h[1])]
    np.testing.assert_allclose(np_of(net[2].weight.grad), [[dz2 * h[0], dz2 * h[1]]], rtol=1e-12)
    np.testing.assert_allclose(np_of(net[2].bias.grad), [dz2], rtol=1e-12)
    np.testing.assert_allclose(np_of(net[0].weight.grad),
                               [[dz1[0] * 0.05, dz1[0] * 0.10], [dz1[1] * 0.05, dz1[1] * 0.10]], rtol=1e-12)
    np.testing.assert_allclose(np_of(net[0].bias.grad), dz1, rtol=1e-12)
    # one SGD step with lr 0.5 lowers the loss
    with ember.no_grad():
        for p in net.parameters():
            p -= 0.5 * p.grad
    assert (0.5 * (net(ember.tensor(x).unsqueeze(0)).item() - target) ** 2) < loss.item()

"""ONNX export: the files pass onnx.checker and onnxruntime computes what ember computes (atol 1e-5)."""
import numpy as np
import pytest

import ember
from ember import models, nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _roundtrip(model, x, tmp_path):
    model.eval()
    path = tmp_path / "model.onnx"
    ember.onnx.export(model, ember.tensor(x), path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})[0]
    with ember.no_grad():
        want = model(ember.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4)
    return path


def _randomize_bn_stats(model):
    rng = np.random.default_rng(1)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.copy_(ember.tensor(rng.normal(0, 0.5, m.num_features).astype(np.float32)))
            m.running_var.copy_(ember.tensor(rng.uniform(0.5, 2, m.num_features).astype(np.float32)))


@pytest.mark.parametrize("batch", [1, 5])
def test_mlp(tmp_path, batch):
    ember.manual_seed(0)
    model = models.MLP((1, 8, 8), 10, hidden=(32, 16), dropout=0.2, batch_norm=True)
    _randomize_bn_stats(model)
    x = np.random.default_rng(0).standard_normal((batch, 1, 8, 8)).astype(np.float32)
    _roundtrip(model, x, tmp_path)


@pytest.mark.parametrize("name", ["lenet5", "cnn"])
def test_cnn(tmp_path, name):
    ember.manual_seed(0)
    model = models.build(name, (1, 28, 28), 10)
    _randomize_bn_stats(model)
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    _roundtrip(model, x, tmp_path)


def test_vgg_small_and_dynamic_batch(tmp_path):
    ember.manual_seed(0)
    model = models.VGGSmall((3, 16, 16), 10, widths=(8, 16, 16))
    _randomize_bn_stats(model)
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32)
    path = _roundtrip(model, x, tmp_path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.run(None, {"input": np.concatenate([x, x, x])})[0].shape == (6, 10)


@pytest.mark.parametrize("act", [nn.Sigmoid(), nn.Tanh(), nn.LeakyReLU(0.2), nn.ELU(0.7), nn.SELU(), nn.GELU(),
                                 nn.GELU(approximate="tanh"), nn.SiLU(), nn.Softplus(), nn.ReLU6(),
                                 nn.Hardtanh(-0.5, 0.5), nn.Softmax(dim=1), nn.LogSoftmax(dim=1)])
def test_activations(tmp_path, act):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), act, nn.Linear(8, 3))
    x = (3 * np.random.default_rng(0).standard_normal((4, 6))).astype(np.float32)
    _roundtrip(model, x, tmp_path)


def test_conv1d_pool_layernorm_maxout(tmp_path):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(3, 8, 3, padding=1, dilation=1), nn.Maxout(2), nn.MaxPool1d(2),
                          nn.Flatten(), nn.LayerNorm(32), nn.Linear(32, 4))
    x = np.random.default_rng(0).standard_normal((2, 3, 16)).astype(np.float32)
    _roundtrip(model, x, tmp_path)


def test_unsupported_layer_is_named(tmp_path):
    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(NotImplementedError, match="Custom"):
        ember.onnx.export(nn.Sequential(nn.Linear(2, 2), Custom()), ember.randn(1, 2), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_initializers_keep_state_dict_names(tmp_path):
    model = models.LeNet5()
    proto = ember.onnx.export(model, ember.randn(1, 1, 28, 28), tmp_path / "m.onnx")
    names = {i.name for i in proto.graph.initializer}
    assert set(model.state_dict()) <= names

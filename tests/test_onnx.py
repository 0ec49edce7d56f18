"""ONNX export: the files pass onnx.checker and onnxruntime computes what ember computes (atol 1e-5)."""
import numpy as np
import pytest

import ember
from ember import models, nn
from conftest import load_example

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


# ---- recurrent layers --------------------------------------------------------------------------

def _ember_outputs(model, x):
    with ember.no_grad():
        return [t.numpy() for t in ember.onnx._leaves(model(ember.tensor(x)))]


def _export_and_session(model, x, tmp_path, **kwargs):
    model.eval()
    path = tmp_path / "model.onnx"
    proto = ember.onnx.export(model, ember.tensor(x), path, **kwargs)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return proto, ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _compare(session, model, x):
    got, want = session.run(None, {"input": x}), _ember_outputs(model, x)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-5, rtol=1e-4)


CELLS = {"lstm": (nn.LSTM, {}), "gru": (nn.GRU, {}), "rnn_tanh": (nn.RNN, {"nonlinearity": "tanh"}),
         "rnn_relu": (nn.RNN, {"nonlinearity": "relu"})}
OPTIONS = {"one_layer": {}, "two_layers": {"num_layers": 2}, "bidirectional": {"bidirectional": True},
           "batch_first": {"batch_first": True},
           "all": {"num_layers": 3, "bidirectional": True, "batch_first": True, "bias": False, "dropout": 0.3}}


def _seq(rng, seq, batch, features, batch_first):
    shape = (batch, seq, features) if batch_first else (seq, batch, features)
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("cell", CELLS)
def test_recurrent_layer(tmp_path, cell, options):
    cls, kwargs = CELLS[cell]
    ember.manual_seed(0)
    model = cls(5, 6, **kwargs, **OPTIONS[options])
    rng = np.random.default_rng(0)
    bf = model.batch_first
    proto, session = _export_and_session(model, _seq(rng, 7, 3, 5, bf), tmp_path)
    assert [o.name for o in session.get_outputs()] == ["output", "h_n", "c_n"][:3 if cell == "lstm" else 2]
    # the sequence length and the batch are dynamic: other sizes run and still match
    for seq, batch in [(7, 3), (2, 1), (11, 4)]:
        _compare(session, model, _seq(rng, seq, batch, 5, bf))
    names = {i.name for i in proto.graph.initializer}
    assert "weight_ih_l0.W" in names and "weight_hh_l0.R" in names
    assert ("bias_l0.B" in names) == model.bias


@pytest.mark.parametrize("cell", CELLS)
def test_recurrent_unbatched(tmp_path, cell):
    cls, kwargs = CELLS[cell]
    ember.manual_seed(0)
    model = cls(4, 3, num_layers=2, bidirectional=True, **kwargs)
    rng = np.random.default_rng(0)
    _, session = _export_and_session(model, rng.standard_normal((6, 4)).astype(np.float32), tmp_path)
    for seq in (6, 9):
        _compare(session, model, rng.standard_normal((seq, 4)).astype(np.float32))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_sequence_classifier_with_onnx_export_method(tmp_path, cell):
    """The example's many-to-one model (recurrent layer, last time step, Linear head) exports through
    its onnx_export method; its output is the logits only, with a dynamic batch."""
    ember.manual_seed(0)
    model = load_example("sequence_classification").RowReader(cell, hidden=16)
    rng = np.random.default_rng(0)
    proto, session = _export_and_session(model, rng.standard_normal((1, 8, 8)).astype(np.float32), tmp_path)
    assert [o.name for o in session.get_outputs()] == ["output"]
    for batch in (1, 5):
        _compare(session, model, rng.standard_normal((batch, 8, 8)).astype(np.float32))
    names = {i.name for i in proto.graph.initializer}
    assert {"head.weight", "head.bias", "rnn.weight_ih_l0.W"} <= names


def test_recurrent_in_sequential_and_output_names(tmp_path):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Dropout(0.5), nn.GRU(3, 4, batch_first=True), nn.Identity())
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    _, session = _export_and_session(model, x, tmp_path, output_name=["seq_out", "hidden"])
    assert [o.name for o in session.get_outputs()] == ["seq_out", "hidden"]
    _compare(session, model, x)
    with pytest.raises(ValueError, match="3 outputs, but the model returns 2"):
        ember.onnx.export(model, ember.tensor(x), tmp_path / "m.onnx", output_name=["a", "b", "c"])


def test_recurrent_unsupported_is_explained(tmp_path):
    lstm = nn.LSTM(3, 4)
    lstm.proj_size = 2  # ember cannot build one; a model from elsewhere might carry the attribute
    with pytest.raises(NotImplementedError, match="proj_size"):
        ember.onnx.export(lstm, ember.randn(5, 2, 3), tmp_path / "m.onnx")

    class TakeOutput(nn.Module):  # no emitter and no onnx_export method
        def forward(self, out):
            return out[0]

    with pytest.raises(NotImplementedError, match="TakeOutput.*onnx_export"):
        ember.onnx.export(nn.Sequential(nn.LSTM(3, 4), TakeOutput()), ember.randn(5, 2, 3), tmp_path / "m.onnx")
    with pytest.raises(NotImplementedError, match="LSTMCell"):
        ember.onnx.export(nn.LSTMCell(3, 4), ember.randn(2, 3), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_dynamic_axes_choose_the_symbolic_dims(tmp_path):
    ember.manual_seed(0)
    model = nn.LSTM(3, 4)  # time-major: the default makes axis 0 'sequence' and axis 1 'batch'
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    _, session = _export_and_session(model, x, tmp_path, dynamic_axes={1: "n"})
    assert session.get_inputs()[0].shape == [5, "n", 3]
    assert [o.shape for o in session.get_outputs()] == [[5, "n", 4], [1, "n", 4], [1, "n", 4]]
    _compare(session, model, np.concatenate([x, x, x], axis=1))
    with pytest.raises(ValueError, match="dynamic_axes"):
        ember.onnx.export(model, ember.tensor(x), tmp_path / "m.onnx", dynamic_axes={3: "oops"})

"""The C++ side: build and install the core as a CMake package, build the C++-only examples against
it with find_package(ember) and run them (training with ember::nn + ember::optim; running a LeNet-5
trained in Python, whose logits must equal Python's), and run the test programs in tests/cpp."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "cpp-tests"  # kept between runs so the core rebuilds incrementally
PREFIX = BUILD / "install"


def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r


def _generator():
    return ["-G", "Ninja"] if shutil.which("ninja") else []


@pytest.fixture(scope="session")
def cpp_build():
    if shutil.which("cmake") is None:
        pytest.fail("cmake is required for the C++ tests (pip install cmake)")
    _run(["cmake", "-S", str(ROOT), "-B", str(BUILD), *_generator(), "-DCMAKE_BUILD_TYPE=Release",
          "-DEMBER_BUILD_PYTHON=OFF", "-DEMBER_BUILD_TESTS=ON", f"-DCMAKE_INSTALL_PREFIX={PREFIX}"])
    _run(["cmake", "--build", str(BUILD), "-j", "2"])
    _run(["cmake", "--install", str(BUILD)])
    return BUILD


@pytest.fixture(scope="session")
def examples(cpp_build):
    """examples/cpp built against the installed package; kept next to the core build so that a
    rerun only recompiles what changed."""
    assert (PREFIX / "lib" / "cmake" / "ember" / "emberConfig.cmake").exists() or \
        (PREFIX / "lib64" / "cmake" / "ember" / "emberConfig.cmake").exists()
    assert (PREFIX / "include" / "ember" / "ember.h").exists()
    assert (PREFIX / "include" / "ember" / "nn" / "module.h").exists()
    build = BUILD / "examples"
    _run(["cmake", "-S", str(ROOT / "examples" / "cpp"), "-B", str(build), *_generator(),
          f"-DCMAKE_PREFIX_PATH={PREFIX}", "-DCMAKE_BUILD_TYPE=Release"])
    _run(["cmake", "--build", str(build), "-j", "2"])
    return build


def _env():
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "passive")  # spinning workers starve the 2-core CI machine
    return env


def test_cpp_example_trains_with_nn_and_optim(examples, tmp_path):
    weights = tmp_path / "xor.safetensors"
    r = _run([str(examples / "xor_mlp"), str(weights)], env=_env())
    final = [line for line in r.stdout.splitlines() if line.startswith("final loss")]
    assert final, r.stdout
    assert float(final[0].split()[-1]) < 0.01
    # the C++-trained weights load by name into the same model built in Python
    import ember
    from ember import nn

    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())
    model.load(str(weights))
    x = ember.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    pred = model(x).detach().numpy().ravel()
    printed = [line for line in r.stdout.splitlines() if line.startswith("predictions:")][0]
    assert [round(float(v), 3) for v in pred] == [float(v) for v in printed.split()[1:]]
    assert list(pred.round()) == [0, 1, 1, 0]


def _lenet_files(tmp_path, **kwargs):
    import ember
    from ember.models import LeNet5

    ember.manual_seed(0)
    model = LeNet5(**kwargs)
    x = ember.randn(5, 1, 28, 28)
    # a few steps of training, so that the weights are not just the initial draw
    opt = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    y = ember.tensor([0, 1, 2, 3, 4])
    for _ in range(3):
        loss = ember.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    model.save(str(tmp_path / "lenet.safetensors"))
    ember.save({"input": x}, str(tmp_path / "input.safetensors"))
    with ember.no_grad():
        return model(x).numpy()


def test_cpp_infer_safetensors_matches_python_lenet5(examples, tmp_path):
    import ember
    import numpy as np

    expected = _lenet_files(tmp_path)
    out = tmp_path / "logits.safetensors"
    r = _run([str(examples / "infer_safetensors"), str(tmp_path / "lenet.safetensors"),
              str(tmp_path / "input.safetensors"), str(out)], env=_env())
    logits = ember.load(str(out))["logits"].numpy()
    assert logits.shape == (5, 10)
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-5)
    assert "logits 5 x 10" in r.stdout
    classes = [int(line.split()[-1]) for line in r.stdout.splitlines() if "-> class" in line]
    assert classes == list(expected.argmax(1))


def test_cpp_infer_safetensors_reports_a_mismatched_checkpoint(examples, tmp_path):
    _lenet_files(tmp_path, num_classes=7)
    r = subprocess.run([str(examples / "infer_safetensors"), str(tmp_path / "lenet.safetensors"),
                        str(tmp_path / "input.safetensors")], capture_output=True, text=True, env=_env())
    assert r.returncode == 1
    assert "size mismatch for classifier.5.weight" in r.stderr and "(7, 84)" in r.stderr, r.stderr
    r = subprocess.run([str(examples / "infer_safetensors"), str(tmp_path / "input.safetensors"),
                        str(tmp_path / "input.safetensors")], capture_output=True, text=True, env=_env())
    assert r.returncode == 1
    assert "Missing key(s) in state_dict" in r.stderr and "Unexpected key(s) in state_dict: \"input\"" in r.stderr


def test_cpp_nn_initialisation_equals_python(cpp_build, tmp_path):
    """The same layers built after the same seed hold the same numbers in C++ and in Python."""
    import ember
    import numpy as np
    from ember import nn

    path = tmp_path / "init.safetensors"
    _run([str(cpp_build / "tests" / "cpp" / "test_nn"), "--save-init", str(path)], env=_env())
    ember.manual_seed(1234)
    model = nn.Sequential(
        nn.Linear(7, 5), nn.Linear(5, 3, bias=False), nn.Conv1d(4, 6, 3, groups=2),
        nn.Conv2d(3, 4, (3, 2), dilation=2), nn.Embedding(6, 4, padding_idx=2), nn.BatchNorm2d(4),
        nn.LayerNorm(5), nn.Linear(4, 2, dtype=ember.float64))
    ours = model.state_dict()
    theirs = ember.load(str(path))
    assert sorted(theirs) == sorted(ours)
    for name, t in ours.items():
        assert theirs[name].dtype == t.dtype, name
        np.testing.assert_array_equal(theirs[name].numpy(), t.numpy(), err_msg=name)


def _cpp_test_programs():
    return sorted(p.stem for p in (ROOT / "tests" / "cpp").glob("test_*.cc"))


@pytest.mark.parametrize("name", _cpp_test_programs())
@pytest.mark.parametrize("cpu", ["native", "generic"])
def test_cpp_program(cpp_build, name, cpu):
    """Each kernel test program on the CPU's best path (the gemm and conv programs also switch to
    every narrower one: AVX-512 -> AVX2 -> generic) and with the generic fallback forced."""
    env = _env()
    if cpu == "generic":
        env["EMBER_CPU"] = "generic"
    exe = cpp_build / "tests" / "cpp" / name
    r = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=900)
    sys.stdout.write(r.stdout[-2000:])
    assert r.returncode == 0, f"{name} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"

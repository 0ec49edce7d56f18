"""The C++ side: build and install the core as a CMake package, build the C++-only example against
it with find_package(ember), run it, and run the kernel test programs in tests/cpp."""
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


def test_cpp_example_builds_against_installed_package_and_trains(cpp_build, tmp_path):
    assert (PREFIX / "lib" / "cmake" / "ember" / "emberConfig.cmake").exists() or \
        (PREFIX / "lib64" / "cmake" / "ember" / "emberConfig.cmake").exists()
    assert (PREFIX / "include" / "ember" / "ember.h").exists()
    build = tmp_path / "example"
    _run(["cmake", "-S", str(ROOT / "examples" / "cpp"), "-B", str(build), *_generator(),
          f"-DCMAKE_PREFIX_PATH={PREFIX}", "-DCMAKE_BUILD_TYPE=Release"])
    _run(["cmake", "--build", str(build), "-j", "2"])
    r = _run([str(build / "xor_mlp")])
    final = [line for line in r.stdout.splitlines() if line.startswith("final loss")]
    assert final, r.stdout
    assert float(final[0].split()[-1]) < 0.01


def _cpp_test_programs():
    return sorted(p.stem for p in (ROOT / "tests" / "cpp").glob("test_*.cc"))


@pytest.mark.parametrize("name", _cpp_test_programs())
@pytest.mark.parametrize("cpu", ["native", "generic"])
def test_cpp_program(cpp_build, name, cpu):
    """Each kernel test program on the CPU's best path (the gemm and conv programs also switch to
    every narrower one: AVX-512 -> AVX2 -> generic) and with the generic fallback forced."""
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "passive")  # spinning workers starve the 2-core CI machine
    if cpu == "generic":
        env["EMBER_CPU"] = "generic"
    exe = cpp_build / "tests" / "cpp" / name
    r = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=900)
    sys.stdout.write(r.stdout[-2000:])
    assert r.returncode == 0, f"{name} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"

"""Bad input across the public API: wrong shapes and dtypes, out-of-range dims and indices, empty
tensors, NaN/inf, non-contiguous inputs and absurd sizes. Each must raise a clear Python exception
(ValueError / TypeError / IndexError / RuntimeError / MemoryError naming the problem) or give
numpy's answer; never crash or hang.

The risky parts run in a child process (a segfault shows up as a failed test, not a dead pytest)
with a capped address space, so an absurd size that slipped through fails fast instead of swapping.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from conftest import EMBER_PATH, check

HERE = os.path.dirname(os.path.abspath(__file__))
ALLOWED = ("ValueError", "TypeError", "IndexError", "RuntimeError", "MemoryError", "NotImplementedError")


def _child_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = EMBER_PATH + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_WAIT_POLICY", "passive")
    return env


def _tail(path, n=5):
    try:
        with open(path) as fh:
            return "".join(fh.readlines()[-n:])
    except OSError:
        return "(no progress file)"


def test_fuzz_public_api_never_crashes(tmp_path):
    """Every public callable x odd arguments: only the promised exception types, clear messages."""
    out, progress = tmp_path / "fuzz.json", tmp_path / "progress.txt"
    try:
        r = subprocess.run([sys.executable, os.path.join(HERE, "bad_input_fuzz.py"), str(out), str(progress)],
                           capture_output=True, text=True, timeout=900, env=_child_env(), cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"fuzzer hung; last calls:\n{_tail(progress)}")
    assert r.returncode == 0, f"fuzzer died with code {r.returncode}; last calls:\n{_tail(progress)}\n{r.stderr[-3000:]}"
    result = json.loads(out.read_text())
    assert result["calls"] > 50_000
    bad = result["bad"]
    assert not bad, f"{len(bad)} calls misbehaved, e.g.:\n" + "\n".join(f"{d}: {m}" for d, m in bad[:40])


# name -> (expression, expected). expected: an exception name (or tuple of names) and a regex the
# message must match, or ("np", numpy expression) for an answer that must equal numpy's.
CASES = {
    # absurd sizes
    "zeros 2**62": ("ember.zeros(2**62)", ("MemoryError", "too large")),
    "ones 2**62 f64": ("ember.ones(2**62, dtype=ember.float64)", ("MemoryError", "too large")),
    "empty overflow": ("ember.empty(2**61, 4)", (("ValueError", "MemoryError"), "too many|too large")),
    "zeros 2**32 x 2**32": ("ember.zeros(2**32, 2**32)", (("ValueError", "MemoryError"), "too many|too large")),
    "zeros product overflow with 0": ("ember.zeros(2**40, 2**40, 0)", (("ValueError", "MemoryError"), "too many")),
    "zeros 2**64": ("ember.zeros(2**64)", (("ValueError", "MemoryError", "TypeError"), "int64|too large")),
    "zeros -1": ("ember.zeros(-1)", ("ValueError", "negative")),
    "zeros str": ("ember.zeros('a')", ("TypeError", "str")),
    "zeros None": ("ember.zeros(None)", ("TypeError", "NoneType")),
    "zeros 70 dims": ("ember.zeros(*([1] * 70))", ("ValueError", "dimensions")),
    "full 2**62": ("ember.full((2**62,), 1.0)", ("MemoryError", "too large")),
    "arange 2**62": ("ember.arange(2**62)", (("ValueError", "MemoryError"), "too many|too large")),
    "arange tiny step": ("ember.arange(0, 1, 1e-30)", (("ValueError", "MemoryError"), "too many|too large")),
    "arange step 0": ("ember.arange(0, 10, 0)", ("ValueError", "step")),
    "arange inf": ("ember.arange(0, float('inf'))", ("ValueError", "finite")),
    "arange nan": ("ember.arange(float('nan'))", ("ValueError", "finite")),
    "linspace 2**62": ("ember.linspace(0, 1, 2**62)", (("ValueError", "MemoryError"), "too")),
    "linspace -1": ("ember.linspace(0, 1, -1)", ("ValueError", "non-negative")),
    "eye 2**40": ("ember.eye(2**40)", (("ValueError", "MemoryError"), "too")),
    "eye -1": ("ember.eye(-1)", ("ValueError", "non-negative")),
    "rand 2**62": ("ember.rand(2**62)", (("ValueError", "MemoryError"), "too")),
    "randn overflow": ("ember.randn(2**40, 2**30)", (("ValueError", "MemoryError"), "too")),
    "randint 2**62": ("ember.randint(0, 5, (2**62,))", (("ValueError", "MemoryError"), "too")),
    "randint empty range": ("ember.randint(0, 0, (3,))", ("ValueError", "low < high")),
    "randperm -1": ("ember.randperm(-1)", ("ValueError", "non-negative")),
    "randperm 2**62": ("ember.randperm(2**62)", (("ValueError", "MemoryError"), "too")),
    "expand then contiguous": ("ember.ones(3).expand(2**62, 3).contiguous()", (("ValueError", "MemoryError"), "too")),
    "expand then clone": ("ember.ones(1).expand(2**40).clone()", ("MemoryError", "allocate|too large")),
    "expand then mul": ("ember.ones(1).expand(2**40) * 2", ("MemoryError", "allocate|too large")),
    "reshape overflow": ("ember.zeros(0).reshape(2**62, 2**62, 0)", ("ValueError", "too big|too many|invalid")),
    "conv huge padding": ("F.conv2d(f(1, 1, 5, 5), f(1, 1, 3, 3), padding=2**40)", (("ValueError", "MemoryError"), "too")),
    "adaptive pool huge": ("F.adaptive_avg_pool2d(f(1, 1, 4, 4), 2**40)", (("ValueError", "MemoryError"), "too")),
    "set_num_threads 0": ("ember.set_num_threads(0)", ("ValueError", "positive")),
    "set_num_threads huge": ("ember.set_num_threads(2**40)", (("ValueError", "TypeError"), "")),
    # indices
    "index 10": ("f(3)[10]", ("IndexError", "out of bounds")),
    "index -10": ("f(3)[-10]", ("IndexError", "out of bounds")),
    "index 2**70": ("f(3)[2**70]", ("IndexError", "int64|out of")),
    "index int64 min": ("f(3)[-2**63]", ("IndexError", "out of bounds")),
    "tensor index oob": ("f(3)[T([5])]", ("IndexError", "out of bounds")),
    "tensor index -oob": ("f(3)[T([-5])]", ("IndexError", "out of bounds")),
    "tensor index int64 min": ("f(3)[T([-2**63])]", ("IndexError", "out of bounds")),
    "index of 0-d": ("T(1.0)[0]", ("IndexError", "0-dim")),
    "mask shape": ("f(3)[T([True, False])]", ("IndexError", "mask")),
    "float index tensor": ("f(3)[T([0.0])]", ("IndexError", "int64 or bool|long or bool")),
    "float index": ("f(3)[1.5]", ("IndexError", "integers")),
    "two ellipses": ("f(3)[..., ...]", ("IndexError", "ellipsis")),
    "too many indices": ("f(3)[1, 2]", ("IndexError", "too many")),
    "step 0": ("f(3)[::0]", ("ValueError", "step")),
    "string index": ("f(3)['a']", (("TypeError", "IndexError"), "")),
    "70 new axes": ("f(3)[(None,) * 70]", ("ValueError", "dimensions")),
    "slice huge bounds": ("f(3)[2**62:2**63]", ("np", "np.zeros(0)")),
    "slice huge negative start": ("ember.arange(3.0)[-2**70:]", ("np", "np.arange(3.0)")),
    "slice huge step": ("ember.arange(5.0)[::2**63 - 1]", ("np", "np.arange(5.0)[::2**63 - 1]")),
    "slice huge step mid": ("ember.arange(5.0)[1::2**70]", ("np", "np.arange(5.0)[1:2]")),
    "slice int64 min start": ("ember.arange(5.0)[-2**63:2]", ("np", "np.arange(5.0)[:2]")),
    "setitem oob": ("f(3).__setitem__(T([7]), 1.0)", ("IndexError", "out of bounds")),
    "setitem shape": ("f(3, 4).__setitem__(0, f(3))", ("ValueError", "broadcast")),
    "setitem str": ("f(3).__setitem__(0, 'x')", ("TypeError", "")),
    "index_select oob": ("ember.index_select(f(3), 0, T([3]))", ("IndexError", "out of bounds")),
    "index_select float": ("ember.index_select(f(3), 0, T([0.0]))", (("IndexError", "TypeError"), "int64")),
    "index_select dim": ("ember.index_select(f(3), 3, T([0]))", ("IndexError", "dimension out of range")),
    "narrow oob": ("f(5).narrow(0, 3, 5)", ("IndexError", "exceeds")),
    "narrow overflow": ("f(5).narrow(0, 2**62, 2**62)", (("IndexError", "ValueError"), "")),
    "select oob": ("f(5).select(0, 9)", ("IndexError", "out of bounds")),
    "size oob": ("f(3).size(5)", ("IndexError", "out of range")),
    "stride oob": ("f(3).stride(5)", ("IndexError", "out of range")),
    "embedding oob": ("F.embedding(T([5]), f(3, 2))", ("IndexError", "out of range")),
    "embedding negative": ("F.embedding(T([-1]), f(3, 2))", ("IndexError", "out of range")),
    "cross_entropy target oob": ("F.cross_entropy(f(2, 3), T([0, 5]))", ("IndexError", "out of bounds")),
    "cross_entropy target min": ("F.cross_entropy(f(2, 3), T([0, -2**63]))", ("IndexError", "out of bounds")),
    "nll_loss target oob": ("F.nll_loss(f(2, 3), T([0, 3]))", ("IndexError", "out of bounds")),
    "multi_margin oob": ("F.multi_margin_loss(f(2, 3), T([0, 3]))", ("IndexError", "out of bounds")),
    # dims
    "sum dim 5": ("ember.sum(f(3), 5)", ("IndexError", "dimension out of range")),
    "sum dim 2**70": ("ember.sum(f(3), 2**70)", ("IndexError", "int64|out of range")),
    "sum duplicate dims": ("ember.sum(f(3, 3), (0, 0))", ("ValueError", "multiple")),
    "max dim 2**70": ("ember.max(f(3), 2**70)", ("IndexError", "int64|out of range")),
    "softmax dim": ("F.softmax(f(3), dim=3)", ("IndexError", "dimension out of range")),
    "permute repeated": ("f(2, 3).permute(0, 0)", ("ValueError", "repeated")),
    "transpose oob": ("f(2, 3).transpose(0, 5)", ("IndexError", "dimension out of range")),
    "squeeze oob": ("f(2, 3).squeeze(5)", ("IndexError", "dimension out of range")),
    "unsqueeze oob": ("f(2, 3).unsqueeze(4)", ("IndexError", "dimension out of range")),
    "cat dim": ("ember.cat([f(2), f(2)], dim=5)", ("IndexError", "dimension out of range")),
    "stack dim": ("ember.stack([f(2), f(2)], dim=3)", ("IndexError", "dimension out of range")),
    "flatten reversed": ("f(2, 3).flatten(1, 0)", ("ValueError", "start_dim")),
    "split 0": ("ember.split(f(4), 0)", ("ValueError", "positive")),
    "split 2**70": ("ember.split(f(4), 2**70)", (("ValueError", "TypeError"), "int64|incompatible")),
    "chunk 0": ("ember.chunk(f(4), 0)", ("ValueError", "positive")),
    # shapes
    "broadcast": ("f(2, 3) + f(4)", ("ValueError", r"\[2, 3\].*\[4\]")),
    "matmul": ("f(2, 3) @ f(4, 2)", ("ValueError", "cannot be multiplied")),
    "matmul 0-d": ("T(1.0) @ T(2.0)", ("ValueError", "dimension")),
    "batched matmul": ("f(2, 2, 3) @ f(3, 3, 2)", ("ValueError", "broadcast")),
    "reshape": ("f(4).reshape(3)", ("ValueError", "invalid for input of size 4")),
    "two -1": ("f(4).reshape(-1, -1)", ("ValueError", "only one dimension")),
    "view non-contiguous": ("f(3, 4).t().view(-1)", ("RuntimeError", "reshape")),
    "expand": ("f(2, 3).expand(2, 4)", ("ValueError", "expanded size")),
    "cat mismatch": ("ember.cat([f(2, 3), f(2, 4)])", ("ValueError", "sizes of tensors must match")),
    "cat empty list": ("ember.cat([])", ("ValueError", "non-empty")),
    "stack mismatch": ("ember.stack([f(2), f(3)])", ("ValueError", "equal size")),
    "where shape": ("ember.where(T([True, False]), f(3), f(2))", ("ValueError", "broadcast")),
    "masked_fill shape": ("ember.masked_fill(f(3), T([True, False]), 0.0)", ("ValueError", "broadcast")),
    "inv non-square": ("ember.linalg.inv(f(2, 3))", ("ValueError", "square")),
    "inv singular": ("ember.linalg.inv(ember.zeros(2, 2))", ("ValueError", "singular")),
    "solve mismatch": ("ember.linalg.solve(f(2, 2), f(3))", ("ValueError", "incompatible")),
    "solve singular": ("ember.linalg.solve(ember.zeros(2, 2), f(2))", ("ValueError", "singular")),
    "conv channels": ("F.conv2d(f(1, 2, 5, 5), f(3, 3, 3, 3))", ("ValueError", "channels")),
    "conv kernel too big": ("F.conv2d(f(1, 1, 2, 2), f(1, 1, 3, 3))", ("ValueError", "larger")),
    "conv stride 0": ("F.conv2d(f(1, 1, 5, 5), f(1, 1, 3, 3), stride=0)", ("ValueError", "stride")),
    "conv groups": ("F.conv2d(f(1, 3, 5, 5), f(2, 1, 3, 3), groups=2)", ("ValueError", "channels")),
    "max_pool kernel 0": ("F.max_pool2d(f(1, 1, 4, 4), 0)", ("ValueError", "kernel")),
    "max_pool huge kernel": ("F.max_pool2d(f(1, 1, 4, 4), 2**62)", ("ValueError", "empty")),
    "batch_norm stats": ("F.batch_norm(f(2, 3), ember.zeros(4), ember.ones(4))", ("ValueError", "running_mean")),
    "layer_norm shape": ("F.layer_norm(f(2, 3), (4,))", ("ValueError", "normalized_shape")),
    "linear shape": ("F.linear(f(2, 3), f(4, 2))", ("ValueError", "in_features")),
    "cross_entropy batch": ("F.cross_entropy(f(2, 3), T([0, 1, 2]))", ("ValueError", "batch_size")),
    "mse shape": ("F.mse_loss(f(3), f(4))", ("ValueError", "broadcast")),
    "backward gradient shape": ("f(3).requires_grad_().mul(2).backward(f(4))", ("ValueError", "shape")),
    "copy_ shape": ("f(3).copy_(f(4))", ("ValueError", "broadcast")),
    "in-place broadcast": ("f(1).add_(f(3))", ("ValueError", "broadcast")),
    # dtypes
    "mean int": ("ember.mean(T([1, 2]))", ("TypeError", "int64")),
    "matmul bool": ("T([[True]]) @ T([[True]])", ("TypeError", "bool")),
    "conv mixed": ("F.conv2d(f(1, 1, 3, 3), f(1, 1, 3, 3).double())", ("TypeError", "float64")),
    "inv int": ("ember.linalg.inv(T([[1, 0], [0, 1]]))", ("TypeError", "int64")),
    "where int cond": ("ember.where(T([1, 0]), f(2), f(2))", ("TypeError", "bool")),
    "neg bool": ("-T([True])", ("TypeError", "bool")),
    "bitwise and on int": ("T([1, 2]) & T([3, 1])", ("TypeError", "bool")),
    "bitwise or on float": ("f(2) | f(2)", ("TypeError", "bool")),
    "invert int": ("~T([1, 2])", ("TypeError", "bool")),
    "invert bool": ("~T([True, False])", ("np", "np.array([False, True])")),
    "requires_grad int": ("T([1]).requires_grad_()", ("RuntimeError", "floating point")),
    "add_ float into int": ("T([1]).add_(f(1))", ("TypeError", "int64")),
    "cross_entropy float target 1-d": ("F.cross_entropy(f(2, 3), f(2))", ("TypeError", "int64")),
    "embedding float": ("F.embedding(T([0.0]), f(3, 2))", ("TypeError", "int64")),
    "softmax int": ("F.softmax(T([1, 2]), dim=0)", ("TypeError", "int64")),
    "fill int with nan": ("ember.zeros(2, dtype=ember.int64).fill_(float('nan'))", ("ValueError", "int64")),
    "full int with inf": ("ember.full((2,), float('inf'), dtype=ember.int64)", ("ValueError", "int64")),
    "full int with 1e30": ("ember.full((2,), 1e30, dtype=ember.int64)", ("ValueError", "int64")),
    "full int exact": ("ember.full((2,), -2.0**63, dtype=ember.int64)", ("np", "np.full(2, -2**63)")),
    "int() of nan": ("int(T(float('nan')))", ("ValueError", "NaN")),
    "int() of big int64": ("int(T(2**62 + 1))", ("np", "np.array(2**62 + 1)")),
    "index() of big int64": ("[0][T(2**62 + 1) - 2**62 - 1]", ("np", "np.array(0)")),
    "to(5)": ("f(2).to(5)", (("TypeError", "ValueError"), "")),
    "to cuda": ("f(2).to('cuda')", ("RuntimeError", "CUDA")),
    "dtype string": ("ember.zeros(2, dtype='float32')", ("TypeError", "dtype")),
    "from_numpy list": ("ember.from_numpy([1.0])", ("TypeError", "ndarray")),
    "tensor ragged": ("T([[1, 2], [3]])", ("ValueError", "")),
    "tensor complex": ("T(np.array([1j]))", ("TypeError", "complex")),
    # None where a tensor is needed
    "add None": ("ember.add(None, 2)", ("TypeError", "")),
    "argmax None": ("ember.argmax(None)", ("TypeError", "")),
    "split None": ("ember.split(None, 2)", ("TypeError", "")),
    "matmul None": ("ember.matmul(f(2, 2), None)", (("TypeError", "ValueError"), "")),
    "cat None": ("ember.cat([f(2), None])", (("TypeError", "ValueError"), "")),
    "where None": ("ember.where(None, f(2), f(2))", (("TypeError", "ValueError"), "")),
    "conv None": ("F.conv2d(None, f(1, 1, 3, 3))", (("TypeError", "ValueError"), "")),
    "cross_entropy None": ("F.cross_entropy(f(2, 3), None)", (("TypeError", "ValueError"), "")),
    # values: empty tensors and NaN/inf give numpy's (or torch's) answer
    "sum empty": ("ember.sum(ember.zeros(0, 3), 0)", ("np", "np.zeros(3)")),
    "prod empty": ("ember.prod(ember.zeros(0))", ("np", "np.array(1.0)")),
    "mean empty": ("ember.mean(ember.zeros(0))", ("np", "np.array(np.nan)")),
    "max empty": ("ember.max(ember.zeros(0))", ("ValueError", "numel")),
    "max empty dim": ("ember.max(ember.zeros(0, 3), 0)", (("IndexError", "ValueError"), "non-zero size")),
    "argmax empty": ("ember.argmax(ember.zeros(0))", ("ValueError", "numel")),
    "logsumexp empty": ("ember.logsumexp(ember.zeros(0), 0)", ("np", "np.array(-np.inf)")),
    "matmul empty inner": ("ember.zeros(3, 0) @ ember.zeros(0, 4)", ("np", "np.zeros((3, 4))")),
    "det 0x0": ("ember.linalg.det(ember.zeros(0, 0))", ("np", "np.array(1.0)")),
    "softmax empty": ("F.softmax(ember.zeros(0, 3), dim=1)", ("np", "np.zeros((0, 3))")),
    "conv empty batch": ("F.conv2d(ember.zeros(0, 1, 5, 5), f(2, 1, 3, 3))", ("np", "np.zeros((0, 2, 3, 3))")),
    "item empty": ("ember.zeros(0).item()", ("ValueError", "0 elements")),
    "max nan": ("ember.max(T([1.0, float('nan'), 2.0]))", ("np", "np.array(np.nan)")),
    "argmax nan": ("ember.argmax(T([1.0, float('nan'), 2.0]))", ("np", "np.array(1)")),
    "logsumexp inf": ("ember.logsumexp(T([float('inf'), 1.0]), 0)", ("np", "np.array(np.inf)")),
    "logsumexp -inf": ("ember.logsumexp(T([-float('inf'), -float('inf')]), 0)", ("np", "np.array(-np.inf)")),
    "sqrt/log domain": ("ember.log(ember.sqrt(T([-1.0, 0.0, 4.0])))", ("np", "np.log(np.sqrt([-1.0, 0.0, 4.0]))")),
    "inv nan": ("ember.linalg.inv(T([[float('nan'), 0.0], [0.0, 1.0]]))", ("np", "np.full((2, 2), np.nan)")),
    "int true division by 0": ("T([1, -1, 0]) / T([0, 0, 0])", ("np", "np.array([np.inf, -np.inf, np.nan])")),
}


_CHILD = textwrap.dedent("""
    import json, math, resource, sys, warnings
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
    warnings.simplefilter("ignore")
    import numpy as np
    import ember
    import ember.nn.functional as F
    T = ember.tensor
    f = lambda *s: ember.randn(*s)
    cases = json.load(open(sys.argv[1]))
    out = open(sys.argv[2], "w")
    for name, expr in cases:
        out.write(json.dumps({"name": name, "start": True}) + "\\n"); out.flush()
        try:
            r = eval(expr)
            if isinstance(r, ember.Tensor):
                r = r.detach()
                rec = {"ok": True, "value": np.asarray(r.numpy(), dtype=np.float64).tolist(),
                       "shape": list(r.shape)}
            else:
                rec = {"ok": True, "value": r if isinstance(r, (int, float, bool)) else repr(r)[:200], "shape": []}
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            rec = {"ok": False, "type": type(e).__name__, "msg": str(e)[:500]}
        rec["name"] = name
        out.write(json.dumps(rec) + "\\n"); out.flush()
    ember.set_num_threads(1)
""")


def test_explicit_bad_inputs(tmp_path):
    import re

    (tmp_path / "cases.json").write_text(json.dumps([(k, v[0]) for k, v in CASES.items()]))
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    res = tmp_path / "results.jsonl"
    try:
        r = subprocess.run([sys.executable, str(script), str(tmp_path / "cases.json"), str(res)],
                           capture_output=True, text=True, timeout=300, env=_child_env(), cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hung; last case:\n{_tail(res, 1)}")
    lines = [json.loads(line) for line in res.read_text().splitlines()]
    assert r.returncode == 0, f"child died with code {r.returncode} in case {lines[-1]['name']!r}:\n{r.stderr[-2000:]}"
    got = {rec["name"]: rec for rec in lines if "start" not in rec}
    failures = []
    for name, (expr, expected) in CASES.items():
        rec = got[name]
        kind, what = expected
        if kind == "np":
            want = np.asarray(eval(what), dtype=np.float64)
            if not rec["ok"]:
                failures.append(f"{name}: {expr} raised {rec['type']}: {rec['msg'][:200]}; expected {what}")
                continue
            val = np.asarray(rec["value"], dtype=np.float64).reshape(rec["shape"])
            if val.shape != want.shape or not np.allclose(val, want, equal_nan=True):
                failures.append(f"{name}: {expr} gave {val!r}, numpy gives {want!r}")
            continue
        names = (kind,) if isinstance(kind, str) else kind
        if rec["ok"]:
            failures.append(f"{name}: {expr} returned {str(rec['value'])[:100]}; expected {names}")
        elif rec["type"] not in names:
            failures.append(f"{name}: {expr} raised {rec['type']}: {rec['msg'][:200]}; expected {names}")
        elif not re.search(what, rec["msg"], re.I) or not rec["msg"].strip() or "Unable to cast" in rec["msg"]:
            failures.append(f"{name}: {expr} message {rec['msg'][:200]!r} does not match {what!r}")
    assert not failures, "\n".join(failures)


# ------------------------------------------------------------------- in-process value checks

SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-300, 1e300, -1.0, 2.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_inf_elementwise_match_numpy(dtype):
    with np.errstate(over="ignore"):  # 1e300 -> inf in float32, on purpose
        a = SPECIALS.astype(dtype)
    b = np.roll(a, 3)
    ea, eb = ember.tensor(a), ember.tensor(b)
    with np.errstate(all="ignore"):
        for efn, nfn in [(ember.exp, np.exp), (ember.log, np.log), (ember.sqrt, np.sqrt), (ember.abs, np.abs),
                         (ember.neg, np.negative), (ember.tanh, np.tanh),
                         (ember.sign, lambda v: np.where(np.isnan(v), 0, np.sign(v)))]:  # torch: sign(nan) = 0
            check(efn(ea), nfn(a), rtol=1e-5, atol=0)
        for efn, nfn in [(ember.add, np.add), (ember.sub, np.subtract), (ember.mul, np.multiply),
                         (ember.div, np.true_divide), (ember.maximum, np.maximum), (ember.minimum, np.minimum)]:
            check(efn(ea, eb), nfn(a, b), rtol=1e-5, atol=0)
        check(ember.pow(ember.tensor(np.abs(a)), 0.5), np.power(np.abs(a), 0.5), rtol=1e-5, atol=0)
        check(ember.isnan(ea), np.isnan(a))
        check(ember.isfinite(ea), np.isfinite(a))
        check(ea == eb, a == b)
        check(ea < eb, a < b)
        check(ember.clamp(ea, -1.0, 1.0), np.clip(a, -1.0, 1.0), atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_inf_reductions_match_numpy(dtype):
    with np.errstate(over="ignore"):
        a = SPECIALS.astype(dtype)
    e = ember.tensor(a)
    with np.errstate(all="ignore"):
        check(ember.sum(e), np.sum(a))
        check(ember.mean(e), np.mean(a))
        check(ember.max(e), np.max(a))
        check(ember.min(e), np.min(a))
        check(ember.argmax(e), np.argmax(a))
        check(ember.argmin(e), np.argmin(a))
        fin = a[np.isfinite(a)]
        check(ember.max(ember.tensor(fin)), np.max(fin))
        inf_only = np.array([np.inf, 1.0, -np.inf], dtype=dtype)
        check(ember.sum(ember.tensor(inf_only)), np.sum(inf_only))
        check(ember.argmax(ember.tensor(inf_only)), np.argmax(inf_only))
        m = ember.tensor(np.array([[1.0, np.nan], [np.inf, 2.0]], dtype=dtype))
        check(m @ m, np.array([[1.0, np.nan], [np.inf, 2.0]], dtype=dtype) @ np.array([[1.0, np.nan], [np.inf, 2.0]],
                                                                                     dtype=dtype))


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "logsumexp", "amax", "argmax"])
def test_empty_reductions_over_nonempty_dim(name):
    x = np.zeros((0, 4))
    e = ember.zeros(0, 4, dtype=ember.float64)
    ref = {"sum": np.sum, "mean": np.mean, "var": lambda a, axis: np.var(a, axis=axis, ddof=1),
           "std": lambda a, axis: np.std(a, axis=axis, ddof=1), "amax": np.max, "argmax": np.argmax,
           "logsumexp": lambda a, axis: np.log(np.sum(np.exp(a), axis=axis))}[name]
    fn = {"amax": lambda t, d: ember.max(t, d)[0]}.get(name, lambda t, d: getattr(ember, name)(t, d))
    # reducing the non-empty dim: every result is empty
    check(fn(e, 1), ref(x, axis=1))


def test_empty_tensors_flow_through_ops():
    e = ember.zeros(0, 3)
    for out in (e + 1, e * e, ember.exp(e), e @ ember.ones(3, 2), e.t(), e.reshape(3, 0), e[:, 1:],
                ember.cat([e, e]), F.relu(e), F.softmax(e, 1), F.linear(e, ember.ones(4, 3)), e.sum(1),
                ember.where(e > 0, e, e), e.masked_fill(e > 0, 1.0), ember.index_select(e, 1, ember.tensor([0, 2]))):
        assert out.numel() == 0
    assert ember.sum(e).item() == 0.0


@pytest.mark.parametrize("seed", range(3))
def test_non_contiguous_inputs_match_contiguous(seed):
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((4, 6, 5))
    views = [lambda t: t[:, ::2], lambda t: t.transpose(0, 2), lambda t: t.permute(1, 2, 0)[1:],
             lambda t: t[..., 1:4]]
    for v in views:
        nc = v(ember.tensor(base))
        c = nc.contiguous()
        assert not nc.is_contiguous()
        for op in (lambda t: t * 2 + 1, ember.exp, lambda t: t.sum(0), lambda t: t.sum(-1, keepdim=True),
                   lambda t: t.max(1)[0], lambda t: ember.logsumexp(t, 1), lambda t: t.var(0),
                   lambda t: F.softmax(t, -1), lambda t: t @ ember.ones(t.shape[-1], 2, dtype=ember.float64),
                   lambda t: t.reshape(-1), lambda t: t[ember.tensor([0, 0])], lambda t: ember.cat([t, t], 1),
                   lambda t: F.layer_norm(t, (t.shape[-1],)), lambda t: t.argmax(-1), lambda t: ember.sign(t)):
            np.testing.assert_allclose(op(nc).numpy(), op(c).numpy(), rtol=1e-12, atol=1e-12)


def test_unbatched_and_odd_shapes_give_torch_answers(torch):
    x = np.random.default_rng(0).standard_normal((1, 5, 5)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((2, 1, 3, 3)).astype(np.float32)
    got = F.conv2d(ember.tensor(x), ember.tensor(w)).numpy()
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)

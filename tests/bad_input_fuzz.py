"""Argument fuzzer for tests/test_bad_input.py, run as its own process (a crash must not take pytest
down): every public callable of ember, ember.linalg, ember.nn.functional and every Tensor method and
operator is called with combinations of odd arguments (tensors of every dtype, empty, 0-d,
non-contiguous, expanded, NaN/inf; out-of-range and absurd ints; None, strings, ...).

A call may return anything or raise one of the exceptions ember promises; anything else (another
exception type, a crash, a hang) is reported. Usage: python bad_input_fuzz.py OUT_JSON PROGRESS_FILE
The address space is capped so that an absurd size fails with MemoryError instead of swapping.
"""
import itertools
import json
import math
import os
import resource
import sys
import warnings

ALLOWED = (ValueError, TypeError, IndexError, RuntimeError, MemoryError)


def main(out_path, progress_path):
    limit = 6 << 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    warnings.simplefilter("ignore")
    import numpy as np

    import ember
    import ember.nn.functional as F

    ember.manual_seed(0)

    def tensors():
        """name -> factory of a fresh tensor (in-place methods must not leak into later calls)."""
        return {
            "f32": lambda: ember.randn(2, 3),
            "f64": lambda: ember.randn(3, dtype=ember.float64),
            "i64": lambda: ember.tensor([[0, 1, 2], [2, 1, 0]]),
            "bool": lambda: ember.tensor([True, False, True]),
            "0d": lambda: ember.tensor(1.5),
            "empty": lambda: ember.zeros(0, 3),
            "noncontig": lambda: ember.randn(3, 4)[:, ::2],
            "4d": lambda: ember.randn(1, 2, 3, 3),
            "naninf": lambda: ember.tensor([float("nan"), float("inf"), -float("inf")]),
            "expanded": lambda: ember.ones(1).expand(3),
            "grad": lambda: ember.randn(3, requires_grad=True),
        }

    scalars = {
        "0": 0, "1": 1, "-1": -1, "3": 3, "2**62": 2**62, "-2**62": -(2**62), "2**70": 2**70,
        "1.5": 1.5, "nan": float("nan"), "inf": float("inf"), "None": None, "True": True, "str": "x",
        "(2,-1)": (2, -1), "[]": [], "(0,)": (0,), "f32dtype": ember.float32, "i64dtype": ember.int64,
    }
    tens = tensors()
    pool = {**{k: v for k, v in tens.items()}, **{k: (lambda v=v: v) for k, v in scalars.items()}}
    small_pool = {k: pool[k] for k in ("f32", "i64", "bool", "empty", "noncontig", "4d", "0d", "naninf",
                                       "0", "-1", "3", "2**62", "2**70", "1.5", "nan", "None", "str",
                                       "(2,-1)")}

    def callables():
        skip = {"set_num_threads", "set_grad_enabled", "no_grad", "enable_grad", "Tensor", "dtype", "device",
                "from_numpy"}
        for name in sorted(dir(ember)):
            obj = getattr(ember, name)
            if name.startswith("_") or name in skip or isinstance(obj, (type, ember.dtype)) or not callable(obj):
                continue
            yield f"ember.{name}", obj, False
        for name in sorted(dir(ember.linalg)):
            if not name.startswith("_") and callable(getattr(ember.linalg, name)):
                yield f"ember.linalg.{name}", getattr(ember.linalg, name), False
        for name in sorted(dir(F)):
            obj = getattr(F, name)
            if not name.startswith("_") and callable(obj) and not isinstance(obj, type) and \
                    getattr(obj, "__module__", "").startswith("ember"):
                yield f"F.{name}", obj, False
        dunder_ok = {"__abs__", "__add__", "__and__", "__array__", "__bool__", "__eq__", "__float__", "__ge__",
                     "__getitem__", "__gt__", "__iadd__", "__imul__", "__index__", "__int__", "__invert__", "__isub__",
                     "__itruediv__", "__le__", "__len__", "__lt__", "__matmul__", "__mul__", "__ne__", "__neg__",
                     "__or__", "__pos__", "__pow__", "__radd__", "__rmatmul__", "__rmul__", "__rpow__", "__rsub__",
                     "__rtruediv__", "__setitem__", "__sub__", "__truediv__", "__repr__", "__format__"}
        for name in sorted(dir(ember.Tensor)):
            if name.startswith("_") and name not in dunder_ok:
                continue
            attr = getattr(ember.Tensor, name)
            if isinstance(attr, property) or not callable(attr):
                continue
            yield f"Tensor.{name}", name, True

    bad = []
    seen_exc = {}
    calls = 0
    progress = open(progress_path, "w")
    only = os.environ.get("EMBER_FUZZ_ONLY")
    skip_until = os.environ.get("EMBER_FUZZ_AFTER")
    for qual, fn, method in callables():
        if only and qual not in only.split(","):
            continue
        if skip_until:
            if qual == skip_until:
                skip_until = None
            continue
        if method:
            selves = ("f32", "i64", "bool", "empty", "noncontig", "0d", "4d")
            arg_pool = small_pool
            max_arity = 2
        else:
            selves = (None,)
            arg_pool = pool
            max_arity = 2 if not qual.startswith("F.") else 3
        for self_name in selves:
            for arity in range(max_arity + 1):
                keys = list(arg_pool) if arity < 3 else ["f32", "4d", "i64", "empty", "-1", "0", "2**62", "None"]
                for combo in itertools.product(keys, repeat=arity):
                    args = [arg_pool[k]() if k in arg_pool else pool[k]() for k in combo]
                    desc = f"{qual}({', '.join(([self_name] if self_name else []) + list(combo))})"
                    calls += 1
                    progress.write(desc + "\n")
                    progress.flush()
                    try:
                        if method:
                            target = getattr(tens[self_name](), fn)
                            r = target(*args)
                        else:
                            r = fn(*args)
                        if hasattr(r, "__next__"):
                            list(r)
                    except ALLOWED as e:
                        msg = str(e)
                        if not msg.strip():
                            bad.append((desc, f"{type(e).__name__} with an empty message"))
                        elif "Unable to cast Python instance" in msg:
                            bad.append((desc, f"unclear message: {type(e).__name__}: {msg[:150]}"))
                        seen_exc[type(e).__name__] = seen_exc.get(type(e).__name__, 0) + 1
                    except Exception as e:  # noqa: BLE001 - the point is to catch what is not allowed
                        bad.append((desc, f"{type(e).__name__}: {str(e)[:200]}"))
    progress.write("DONE\n")
    progress.close()
    with open(out_path, "w") as fh:
        json.dump({"calls": calls, "bad": bad, "exceptions": seen_exc}, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""The `ember` command: train, eval, predict, bench.

    ember train                                   # an MLP on the bundled digits, about a minute
    ember train --model lenet5 --data fashion-mnist --epochs 5 --optimizer adam --lr 1e-3 \\
                --batch-size 64 --out runs/lenet
    ember eval runs/lenet                         # test accuracy of a saved run
    ember predict runs/lenet --input images.npy   # class of each sample
    ember bench                                   # matmul / conv / training-step speed vs numpy, torch

A run folder holds model.safetensors, config.json (what rebuilds the model), history.json,
metrics.json and PNG plots.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

# Per data set: the model and settings `ember train --data NAME` uses when none are given.
DEFAULTS = {
    "digits": dict(model="mlp", epochs=40, lr=1e-3, batch_size=32),
    "fashion-mnist": dict(model="cnn", epochs=15, lr=1e-3, batch_size=64, schedule="cosine"),
    "mnist-5k": dict(model="lenet5", epochs=20, lr=1e-3, batch_size=32),
    "cifar10": dict(model="vgg-small", epochs=20, lr=1e-3, batch_size=64, schedule="cosine"),
    "_points": dict(model="mlp", epochs=200, lr=3e-3, batch_size=32, hidden=(64, 64, 64)),
}
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "adagrad", "rmsprop")
SCHEDULES = ("none", "step", "exponential", "cosine", "plateau")
LOSSES = {"cross_entropy": "cross_entropy", "hinge": "multi_margin_loss"}


class CLIError(Exception):
    """A user mistake: printed as one line, exit status 2."""


# ---------------------------------------------------------------------------------------------- data
def _load_data(name, seed, samples=1000):
    """(canonical name, Split); the generated 2-D sets get `samples` points."""
    from . import datasets

    try:
        canonical = datasets._canonical(name)
        kwargs = dict(n=samples, seed=seed) if canonical in datasets.SYNTHETIC else {}
        return canonical, datasets.load(canonical, **kwargs)
    except (ValueError, datasets.DatasetNotFoundError) as e:
        raise CLIError(str(e)) from None


def _standardize(x, mean, std):
    return ((x - mean) / std).astype("float32")


def _hold_out(x, y, fraction, seed):
    """Train/validation split of the training set, stratified by class."""
    from .datasets import stratified_split

    if fraction <= 0:
        return (x, y), None
    train_idx, val_idx = stratified_split(y, fraction, seed=seed + 1)
    return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx])


# ---------------------------------------------------------------------------------------------- train
def _check_hyper(args):
    if args.epochs < 1:
        raise CLIError(f"--epochs must be at least 1, got {args.epochs}")
    if not args.lr > 0:
        raise CLIError(f"--lr must be positive, got {args.lr}")
    if args.batch_size < 1:
        raise CLIError(f"--batch-size must be at least 1, got {args.batch_size}")
    if not 0 <= args.val_split < 1:
        raise CLIError(f"--val-split must be in [0, 1), got {args.val_split}")
    if args.weight_decay < 0:
        raise CLIError(f"--weight-decay must be >= 0, got {args.weight_decay}")
    if args.patience is not None and args.patience < 1:
        raise CLIError(f"--patience must be at least 1, got {args.patience}")


def _with_defaults(args, data_name):
    defaults = DEFAULTS.get(data_name, DEFAULTS["_points"])
    for key in ("model", "epochs", "lr", "batch_size", "schedule"):
        if getattr(args, key) is None:
            setattr(args, key, defaults.get(key, "none" if key == "schedule" else None))
    if args.hidden is None:
        args.hidden = defaults.get("hidden", (256, 128))
    return args


def _optimizer(name, params, lr, weight_decay):
    from . import optim

    if name in ("sgd", "momentum", "nesterov"):
        momentum = 0.0 if name == "sgd" else 0.9
        return optim.SGD(params, lr=lr, momentum=momentum, nesterov=name == "nesterov", weight_decay=weight_decay)
    cls = {"adam": optim.Adam, "adamw": optim.AdamW, "adagrad": optim.Adagrad, "rmsprop": optim.RMSprop}[name]
    return cls(params, lr=lr, weight_decay=weight_decay)


def _scheduler(name, optimizer, epochs):
    from .optim import lr_scheduler as s

    if name == "none":
        return None
    if name == "step":
        return s.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    if name == "exponential":
        return s.ExponentialLR(optimizer, gamma=0.95)
    if name == "cosine":
        return s.CosineAnnealingLR(optimizer, T_max=epochs)
    return s.ReduceLROnPlateau(optimizer, factor=0.5, patience=3)


def build_model(config):
    """The model a run's config.json describes (untrained)."""
    from . import models

    kwargs = {}
    if models.canonical(config["model"]) == "mlp":
        kwargs = dict(hidden=tuple(config["hidden"]), activation_name=config.get("activation", "relu"),
                      dropout=config.get("dropout", 0.0), batch_norm=config.get("batch_norm", False))
    return models.build(config["model"], tuple(config["input_shape"]), config["num_classes"], **kwargs)


def _loss_fn(model):
    from .nn import functional as F

    return getattr(F, LOSSES[getattr(model, "default_loss", "cross_entropy")])


def cmd_train(args):
    import ember
    from . import models, train

    if args.samples < 8:
        raise CLIError(f"--samples must be at least 8, got {args.samples}")
    data_name, data = _load_data(args.data, args.seed, args.samples)
    args = _with_defaults(args, data_name)
    _check_hyper(args)
    try:
        model_name = models.canonical(args.model)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.threads:
        ember.set_num_threads(args.threads)
    ember.manual_seed(args.seed)

    mean, std = float(data.x_train.mean()), float(data.x_train.std()) or 1.0
    x_train, x_test = _standardize(data.x_train, mean, std), _standardize(data.x_test, mean, std)
    (x_fit, y_fit), val = _hold_out(x_train, data.y_train, args.val_split, args.seed)
    config = dict(model=model_name, data=data_name, input_shape=list(x_train.shape[1:]),
                  num_classes=data.num_classes, class_names=list(data.class_names), hidden=list(args.hidden),
                  activation=args.activation, dropout=args.dropout, batch_norm=args.batch_norm, mean=mean, std=std,
                  optimizer=args.optimizer, lr=args.lr, batch_size=args.batch_size, epochs=args.epochs,
                  schedule=args.schedule, weight_decay=args.weight_decay, val_split=args.val_split, seed=args.seed,
                  samples=args.samples)
    try:
        model = build_model(config)
    except ValueError as e:
        raise CLIError(f"model {model_name!r} does not fit data set {data_name!r}: {e}") from None
    out = args.out or os.path.join("runs", f"{model_name}-{data_name}")
    os.makedirs(out, exist_ok=True)

    params = sum(p.numel() for p in model.parameters())
    print(f"ember {ember.__version__}: {model_name} ({params:,} parameters) on {data_name}: "
          f"{len(y_fit):,} train / {0 if val is None else len(val[1]):,} validation / {len(data.y_test):,} test "
          f"samples, {ember.get_num_threads()} threads", flush=True)
    optimizer = _optimizer(args.optimizer, model.parameters(), args.lr, args.weight_decay)
    scheduler = _scheduler(args.schedule, optimizer, args.epochs)
    callbacks = []
    if args.patience and val is not None:
        callbacks.append(train.EarlyStopping("val_loss", patience=args.patience, restore_best_weights=True))
    loss_fn = _loss_fn(model)
    start = time.perf_counter()
    history = train.fit(model, loss_fn, optimizer, (x_fit, y_fit), val, epochs=args.epochs,
                        batch_size=args.batch_size, scheduler=scheduler, callbacks=callbacks, seed=args.seed,
                        verbose=not args.quiet)
    seconds = time.perf_counter() - start
    test = train.evaluate(model, loss_fn, (x_test, data.y_test))
    print(f"test accuracy {test['accuracy']:.4f}  test loss {test['loss']:.4f}  "
          f"({len(history)} epochs in {seconds:.1f} s)", flush=True)

    from .io.files import atomic_write_text

    model.save(os.path.join(out, "model.safetensors"))
    atomic_write_text(os.path.join(out, "config.json"), json.dumps(config, indent=2))
    history.save(os.path.join(out, "history.json"))
    metrics = dict(test_accuracy=test["accuracy"], test_loss=test["loss"], epochs=len(history),
                   train_seconds=seconds)
    atomic_write_text(os.path.join(out, "metrics.json"), json.dumps(metrics, indent=2))
    written = _plots(model, history, config, x_train, data.y_train, out)
    print(f"saved {out}/: model.safetensors config.json history.json metrics.json "
          + " ".join(os.path.basename(p) for p in written), flush=True)
    return 0


def _plots(model, history, config, x, y, out):
    from . import nn, plots

    written = [plots.training_curves(history, os.path.join(out, "loss.png"), "loss"),
               plots.training_curves(history, os.path.join(out, "accuracy.png"), "accuracy")]
    if tuple(config["input_shape"]) == (2,):
        written.append(plots.decision_boundary(lambda g: _classify(model, g), x, y,
                                               os.path.join(out, "decision_boundary.png")))
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is not None:
        written.append(plots.filters(conv.weight.detach().numpy(), os.path.join(out, "filters.png")))
    return [p for p in written if p]


def _classify(model, x):
    from . import argmax, train

    return argmax(train.predict(model, x), 1).numpy()


# ---------------------------------------------------------------------------------------------- eval / predict
def _load_run(run):
    path = os.path.join(run, "config.json")
    if not os.path.isfile(path):
        raise CLIError(f"{run!r} is not a run folder (no config.json); train one with `ember train --out {run}`")
    with open(path) as f:
        config = json.load(f)
    model = build_model(config)
    weights = os.path.join(run, "model.safetensors")
    if not os.path.isfile(weights):
        raise CLIError(f"{run!r} has no model.safetensors")
    model.load(weights)
    model.eval()
    return config, model


def cmd_eval(args):
    from . import train

    config, model = _load_run(args.run)
    data_name, data = _load_data(args.data or config["data"], config["seed"], config["samples"])
    x_test = _standardize(data.x_test, config["mean"], config["std"])
    if list(x_test.shape[1:]) != config["input_shape"]:
        raise CLIError(f"data set {data_name!r} has samples of shape {list(x_test.shape[1:])}, the model in "
                       f"{args.run!r} expects {config['input_shape']}")
    result = train.evaluate(model, _loss_fn(model), (x_test, data.y_test))
    print(f"{config['model']} on {data_name} test set ({len(data.y_test):,} samples): "
          f"accuracy {result['accuracy']:.4f}  loss {result['loss']:.4f}")
    return 0


def _read_inputs(path):
    import numpy as np

    if not os.path.isfile(path):
        raise CLIError(f"no such input file: {path}")
    try:
        if path.endswith(".npy"):
            return np.load(path, allow_pickle=False)
        return np.loadtxt(path, delimiter=",", dtype=np.float32, ndmin=2)
    except ValueError as e:
        raise CLIError(f"cannot read {path}: {e}") from None


def cmd_predict(args):
    import numpy as np

    from . import train

    config, model = _load_run(args.run)
    shape = tuple(config["input_shape"])
    if args.input:
        x = np.asarray(_read_inputs(args.input), dtype=np.float32)
        if x.shape[1:] != shape:
            if x.ndim >= 1 and int(np.prod(x.shape[1:])) == int(np.prod(shape)):
                x = x.reshape((x.shape[0],) + shape)  # flat rows (CSV) of images
            else:
                raise CLIError(f"inputs have shape {x.shape[1:]} per sample, the model expects {shape}")
        labels = None
    else:
        _, data = _load_data(config["data"], config["seed"], config["samples"])
        x, labels = data.x_test[: args.count], data.y_test[: args.count]
    from .nn import functional as F

    probs = F.softmax(train.predict(model, _standardize(x, config["mean"], config["std"])), 1).numpy()
    names = config.get("class_names") or [str(i) for i in range(config["num_classes"])]
    for i, p in enumerate(probs):
        k = int(p.argmax())
        line = f"{i}\t{names[k]}\t{p[k]:.3f}"
        if labels is not None:
            line += f"\t(true: {names[int(labels[i])]})"
        print(line)
    return 0


# ---------------------------------------------------------------------------------------------- bench
def cmd_bench(args):
    if "OMP_WAIT_POLICY" not in os.environ:
        # ember's and torch's OpenMP runtimes share the cores in one process: workers that spin after
        # each call starve the other library's threads. The policy is read when the runtimes load,
        # so set it and start again.
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        os.execv(sys.executable, [sys.executable, "-m", "ember", "bench"] + (["--quick"] if args.quick else []))
    from .bench import run

    return run(quick=args.quick)


# ---------------------------------------------------------------------------------------------- parser
def _hidden(text):
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden takes comma-separated widths like 256,128, got {text!r}")
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"--hidden widths must be positive, got {text!r}")
    return widths


def parser():
    from . import datasets, models

    p = argparse.ArgumentParser(prog="ember", description="Train, evaluate and benchmark ember models.")
    sub = p.add_subparsers(dest="command")
    t = sub.add_parser("train", help="train a model on a data set and save the run")
    t.add_argument("--model", help=f"one of {', '.join(models.available())} (default: by data set)")
    t.add_argument("--data", default="digits", help=f"one of {', '.join(datasets.available())} (default digits)")
    t.add_argument("--epochs", type=int)
    t.add_argument("--optimizer", default="adam", choices=OPTIMIZERS)
    t.add_argument("--lr", type=float)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule (default: by data set)")
    t.add_argument("--hidden", type=_hidden, help="MLP hidden widths, e.g. 256,128")
    t.add_argument("--activation", default="relu")
    t.add_argument("--dropout", type=float, default=0.0, help="MLP dropout")
    t.add_argument("--batch-norm", action="store_true", help="MLP batch normalization")
    t.add_argument("--val-split", type=float, default=0.1, help="fraction of the training set held out")
    t.add_argument("--patience", type=int, help="early stopping on validation loss")
    t.add_argument("--samples", type=int, default=1000, help="points of a generated 2-D data set")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=0, help="OpenMP threads (default: all cores)")
    t.add_argument("--out", help="run folder (default runs/MODEL-DATA)")
    t.add_argument("--quiet", action="store_true", help="no per-epoch output")
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("eval", help="test accuracy of a saved run")
    e.add_argument("run", help="run folder written by `ember train`")
    e.add_argument("--data", help="data set (default: the one it was trained on)")
    e.set_defaults(func=cmd_eval)
    r = sub.add_parser("predict", help="classify samples with a saved run")
    r.add_argument("run", help="run folder written by `ember train`")
    r.add_argument("--input", help=".npy array or CSV of samples (default: the first test samples)")
    r.add_argument("--count", type=int, default=10, help="test samples to show when no --input")
    r.set_defaults(func=cmd_predict)
    b = sub.add_parser("bench", help="speed of matmul, conv and a training step, vs numpy and torch")
    b.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    b.set_defaults(func=cmd_bench)
    return p


def main(argv=None):
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        args = parser().parse_args(["train", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except CLIError as e:
        print(f"ember {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

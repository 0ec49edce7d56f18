"""A character-level language model (many-to-many): an LSTM reads text one character at a time
and learns to predict the next one, then samples new text. The corpus ships with Python itself:
the Zen of Python (the `this` module) by default, or `--corpus stdlib` for the docstrings of a
few standard-library modules.

    python examples/char_lm.py [--epochs 30] [--corpus zen|stdlib] [--sample-len 300]

Trains with truncated backpropagation through time over windows of --seq-len characters; the
loss falls from ln(vocab) ~ 3.6 to well under 1 within a minute on the Zen.
"""
from __future__ import annotations

import argparse
import codecs
import math
import sys
import time

import numpy as np

import ember
import ember.nn as nn
import ember.nn.functional as F
import ember.optim as optim


def load_corpus(name):
    if name == "zen":
        import this  # noqa: F401  (prints the Zen on first import; the text is rot13-coded in this.s)

        return codecs.decode(this.s, "rot13")
    import collections
    import json
    import textwrap

    docs = [m.__doc__ or "" for m in (json, textwrap, collections)]
    docs += [f.__doc__ or "" for f in (textwrap.wrap, textwrap.dedent, json.dumps, json.loads)]
    return "\n\n".join(d.strip() for d in docs)


class CharLM(nn.Module):
    def __init__(self, vocab, embed=32, hidden=128, layers=1):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx, state=None):  # idx [N, T] -> logits [N, T, vocab]
        out, state = self.lstm(self.embed(idx), state)
        return self.head(out), state


def sample(model, stoi, itos, prompt, length, temperature, rng):
    model.eval()
    out = list(prompt)
    with ember.no_grad():
        logits, state = model(ember.tensor(np.array([[stoi[c] for c in prompt]], dtype=np.int64)))
        for _ in range(length):
            p = F.softmax(logits[0, -1] / temperature, dim=-1).numpy().astype(np.float64)
            c = int(rng.choice(len(p), p=p / p.sum()))
            out.append(itos[c])
            logits, state = model(ember.tensor(np.array([[c]], dtype=np.int64)), state)
    return "".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", choices=["zen", "stdlib"], default="zen")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seq-len", type=int, default=48)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--sample-len", type=int, default=300)
    ap.add_argument("--temperature", type=float, default=0.6)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    ember.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    text = load_corpus(args.corpus)
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = np.array([stoi[c] for c in text], dtype=np.int64)
    print(f"corpus: {len(text)} characters, vocabulary {len(chars)}")

    model = CharLM(len(chars), hidden=args.hidden)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    T = args.seq_len
    starts = np.arange(0, len(data) - T - 1)
    steps = max(1, len(starts) // (args.batch_size * 4))  # a quarter of the windows per epoch
    t0 = time.perf_counter()
    loss_value = math.log(len(chars))
    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for _ in range(steps):
            s = rng.choice(starts, args.batch_size)
            x = np.stack([data[i:i + T] for i in s])
            y = np.stack([data[i + 1:i + T + 1] for i in s])  # the next character at every step
            logits, _ = model(ember.tensor(x))
            loss = F.cross_entropy(logits.reshape(-1, len(chars)), ember.tensor(y.reshape(-1)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        loss_value = total / steps
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            print(f"epoch {epoch + 1:3d}  loss {loss_value:.3f}  ({time.perf_counter() - t0:.1f} s)")
    prompt = text[:12]
    print("\n--- sample ---")
    print(sample(model, stoi, chars, prompt, args.sample_len, args.temperature, rng))
    return loss_value


if __name__ == "__main__":
    main(sys.argv[1:])

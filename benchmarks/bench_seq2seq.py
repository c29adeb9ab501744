"""Training throughput of glassnet's seq2seq (plain and attention) against an equivalent PyTorch model, CPU, one run.

One training step = teacher-forced forward (source embedding -> encoder LSTM, whose final state starts the
decoder LSTM over the target embeddings; with attention, general scores ``h_t W_a hs_sᵀ``, a masked softmax
over source positions, context, ``tanh([c; h] W_c + b_c)``), a Linear to the target vocabulary, mean softmax
cross-entropy over target tokens (padding ignored), backward, and one Adam step. The PyTorch model is built
from ``nn.Embedding``, ``nn.LSTM`` (batch_first) and ``nn.Linear`` with the same sizes, vocabularies and
batches. float32, the same number of BLAS/OpenMP threads for NumPy and torch (default 1).

Throughput is target tokens per second, ``N·T / seconds per step``, best of the repeats, timed round-robin
(:func:`bench_recurrent.best_seconds`).

Sizes: the ``translate-enja`` lab config (V_src 3214, V_tgt 3702, E 128, H 192, N 64, S 10, T 13) and the
``date-format`` one (character vocabularies of 60 and 14, E 32, H 128, N 128, S 20, T 11).

Usage::

    python benchmarks/bench_seq2seq.py [--threads 1] [--repeats 10]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))
from bench_recurrent import best_seconds  # noqa: E402

from glassnet.optim import Adam  # noqa: E402
from glassnet.zoo import Seq2Seq  # noqa: E402

# name: (V_src, V_tgt, E, H, N, S, T)
SIZES = {"translate-enja": (3214, 3702, 128, 192, 64, 10, 13), "date-format": (60, 14, 32, 128, 128, 20, 11)}


class TorchSeq2Seq(torch.nn.Module):
    """The same network as ``glassnet.zoo.Seq2Seq`` in PyTorch (attention: None or "general")."""

    def __init__(self, v_src, v_tgt, E, H, attention):
        super().__init__()
        self.attention = attention
        self.src_embed = torch.nn.Embedding(v_src, E)
        self.encoder = torch.nn.LSTM(E, H, batch_first=True)
        self.tgt_embed = torch.nn.Embedding(v_tgt, E)
        self.decoder = torch.nn.LSTM(E, H, batch_first=True)
        if attention:
            self.W_a = torch.nn.Parameter(torch.empty(H, H).uniform_(-H**-0.5, H**-0.5))
            self.combine = torch.nn.Linear(2 * H, H)
        self.out = torch.nn.Linear(H, v_tgt)

    def loss(self, src, tgt, mask):
        enc, state = self.encoder(self.src_embed(src))  # (N, S, H)
        hs, _ = self.decoder(self.tgt_embed(tgt[:, :-1]), state)  # (N, T, H)
        if self.attention:
            scores = (hs @ self.W_a) @ enc.transpose(1, 2)  # (N, T, S)
            weights = torch.softmax(scores.masked_fill(~mask[:, None, :], float("-inf")), dim=-1)
            hs = torch.tanh(self.combine(torch.cat([weights @ enc, hs], dim=2)))  # (N, T, H)
        logits = self.out(hs)  # (N, T, V)
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1),
                                                 ignore_index=0)


def batch(size, rng):
    v_src, v_tgt, _, _, N, S, T = size
    src = rng.integers(4, v_src, (N, S))
    tgt = np.concatenate([np.full((N, 1), 2), rng.integers(4, v_tgt, (N, T - 1)), np.full((N, 1), 3)], axis=1)
    return src, tgt  # tgt (N, T+1): <bos> y_1 .. y_{T-1} <eos>


def glassnet_step(size, attention, rng):
    v_src, v_tgt, E, H, N, S, T = size
    model = Seq2Seq(v_src, v_tgt, E, H, attention=attention, rng=0)
    opt = Adam(list(model.parameters()), lr=1e-3)
    src, tgt = batch(size, rng)
    lengths = np.full(N, S)

    def step():
        loss = model.loss(src, tgt, lengths)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def torch_step(size, attention, rng):
    v_src, v_tgt, E, H, N, S, T = size
    torch.manual_seed(0)
    model = TorchSeq2Seq(v_src, v_tgt, E, H, attention)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    src, tgt = (torch.from_numpy(a) for a in batch(size, rng))
    mask = torch.ones(N, S, dtype=torch.bool)

    def step():
        loss = model.loss(src, tgt, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS / OpenMP threads for both NumPy and torch")
    parser.add_argument("--repeats", type=int, default=10, help="timed steps per measurement (the best is reported)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"threads: {args.threads}; float32; step = forward + backward + Adam; best of {args.repeats} (round-robin)\n")
    header = f"{'size':15} {'model':9} | {'torch tok/s':>11} {'glassnet tok/s':>14} | {'glassnet/torch':>14}"
    print(header)
    print("-" * len(header))
    with threadpool_limits(limits=args.threads):
        for name, size in SIZES.items():
            for attention in (None, "general"):
                steps = {"torch": torch_step(size, attention, np.random.default_rng(0)),
                         "glassnet": glassnet_step(size, attention, np.random.default_rng(0))}
                sec = best_seconds(steps, {k: args.repeats for k in steps})
                tokens = size[4] * size[6]
                print(f"{name:15} {attention or 'plain':9} | {tokens / sec['torch']:11.0f} "
                      f"{tokens / sec['glassnet']:14.0f} | {sec['torch'] / sec['glassnet']:13.2f}x", flush=True)


if __name__ == "__main__":
    main()

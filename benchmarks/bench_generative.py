"""Training-step throughput of glassnet's VAE, HRED and VHRED against the same models in PyTorch, CPU, one run.

One training step = forward, loss, backward into every weight, one Adam step (lr 1e-3), float32:

* **VAE** (``zoo.VAE``, Kingma & Welling 2014 with PyTorch's examples/vae architecture 784-400-20):
  ``h = relu(x W1 + b1)``, ``μ, log σ² = h W_μ + b_μ, h W_v + b_v``, ``z = μ + σ ⊙ ε``,
  ``logits = relu(z W3 + b3) W4 + b4``; loss = Bernoulli NLL (BCE with logits, summed over pixels) + the
  closed-form KL to ``N(0, I)``, per image (:func:`glassnet.functional.vae_loss`). Batch 128.
* **HRED** (``zoo.HRED``, Serban et al. 2016): utterance GRU over every real context turn at once, context
  GRU over the utterance vectors (``lengths = n_turns``), decoder GRU from ``tanh(c W_0 + b_0)`` fed
  ``[e(y_{t-1}); c]``, a Linear to the vocabulary, summed softmax cross-entropy over the non-pad targets
  divided by their count.
* **VHRED** (``zoo.VHRED``, Serban et al. 2017): HRED plus the prior and posterior MLPs, the
  reparameterised ``z`` (posterior reads the response through the utterance GRU), the decoder conditioned
  on ``[c; z]``, loss ``(Σ NLL + Σ KL(q || p)) / #tokens``.

The PyTorch twins are hand-built from ``nn.Linear``, ``nn.Embedding``, ``nn.GRU`` (batch_first, one layer)
and ``torch.nn.functional``; they start from glassnet's weights (dense ``W (in, out)`` = ``weight.T``,
GRU ``W_x`` = ``weight_ih.T``, ``b[0], b[1]`` = ``bias_ih, bias_hh``) and see the same batches. HRED and
VHRED have two twins: ``torch`` runs the utterance and context GRUs over the whole padded batch and reads each
state at ``length - 1``; ``torch packed`` feeds them ``pack_padded_sequence`` batches, which skip the padded
steps (what a PyTorch user would write). glassnet's fused GRU skips them too (it runs the batch longest first,
each step on the sequences still running), so ``torch packed`` is the like-for-like twin. Both twins feed the
decoder ``[e(y_{t-1}); c]`` as a concatenated ``(N, T, E + C)`` input; glassnet passes ``c`` as ``F.gru``'s
per-sequence ``cond`` (the same function, with ``c W_xc`` computed once per response).
Before timing, a parity check evaluates both losses and gradients on the shared weights at step 0 with the
same ``ε``: the losses must agree to 1e-5 relative (float32), or the script stops.

Timing: blocks of ``--steps`` steps, round-robin between the two frameworks after one warm-up block, the
best and the median block over ``--repeats`` (on a shared machine interference only adds time; the best is
the most reproducible figure, the median says how steady it was). NumPy's BLAS and torch get the same
number of threads (``--threads``, default 1). The load average of the machine is printed before and after.
Goal (issue 10): glassnet at least 0.8x torch's throughput (best), pass/fail per row.

Sizes: the VAE as above; HRED/VHRED ``small`` = the constructor defaults (E 64, H 128) with V 2000, and
``medium`` = V 10000, E 128, H 256; both N 32 dialogues of U 3 context turns of up to L 16 / 20 tokens and
a response of up to T 16 / 20 tokens (``<bos> .. <eos>`` then pads), Z 32 / 64.

Usage::

    python benchmarks/bench_generative.py [--threads 1] [--repeats 10] [--steps 3] [--only vae hred vhred]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits
from torch.nn.utils.rnn import pack_padded_sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from glassnet import optim  # noqa: E402
from glassnet.zoo import HRED, VAE, VHRED  # noqa: E402

GOAL = 0.8
PAD, BOS, EOS = 0, 2, 3
VAE_SIZE = dict(d=784, hidden=400, z=20, N=128)
DIALOGUE_SIZES = {
    "small": dict(V=2000, E=64, H=128, Z=32, N=32, U=3, L=16, T=16),
    "medium": dict(V=10000, E=128, H=256, Z=64, N=32, U=3, L=20, T=20),
}


# ------------------------------------------------------------------------------------------------ torch twins
def _linear(lin) -> torch.nn.Linear:
    t = torch.nn.Linear(*lin.W.shape)
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(lin.W.data.T.copy()))
        t.bias.copy_(torch.from_numpy(lin.b.data))
    return t


def _gru(gru) -> torch.nn.GRU:
    W_x, W_h, b = gru.W_x_l0.data, gru.W_h_l0.data, gru.b_l0.data
    t = torch.nn.GRU(W_x.shape[0], W_h.shape[0], batch_first=True)
    with torch.no_grad():
        t.weight_ih_l0.copy_(torch.from_numpy(W_x.T.copy()))
        t.weight_hh_l0.copy_(torch.from_numpy(W_h.T.copy()))
        t.bias_ih_l0.copy_(torch.from_numpy(b[0]))
        t.bias_hh_l0.copy_(torch.from_numpy(b[1]))
    return t


def _grad_pairs(ours, theirs: torch.nn.Module) -> list:
    """``(name, glassnet param, function giving torch's gradient in glassnet's layout)`` for every parameter."""
    t = dict(theirs.named_parameters())
    pairs = []
    for name, p in ours.named_parameters():
        mod, leaf = name.rsplit(".", 1)
        if leaf == "W" and mod == "embed":
            pairs.append((name, p, lambda m=mod: t[f"{m}.weight"].grad))
        elif leaf == "W":
            pairs.append((name, p, lambda m=mod: t[f"{m}.weight"].grad.T))
        elif leaf == "b":
            pairs.append((name, p, lambda m=mod: t[f"{m}.bias"].grad))
        elif leaf == "W_x_l0":
            pairs.append((name, p, lambda m=mod: t[f"{m}.weight_ih_l0"].grad.T))
        elif leaf == "W_h_l0":
            pairs.append((name, p, lambda m=mod: t[f"{m}.weight_hh_l0"].grad.T))
        elif leaf == "b_l0":
            pairs.append((name, p, lambda m=mod: torch.stack([t[f"{m}.bias_ih_l0"].grad, t[f"{m}.bias_hh_l0"].grad])))
        else:
            raise KeyError(name)
    return pairs


class TorchVAE(torch.nn.Module):
    """``zoo.VAE`` in PyTorch, weights copied from it; :meth:`loss` is the negative ELBO per image."""

    def __init__(self, ours: VAE):
        super().__init__()
        self.enc, self.mu, self.log_var = _linear(ours.enc), _linear(ours.mu), _linear(ours.log_var)
        self.dec = torch.nn.Sequential(_linear(ours.dec[0]), torch.nn.ReLU(), _linear(ours.dec[2]))

    def loss(self, x, eps=None):
        h = torch.relu(self.enc(x))
        mu, log_var = self.mu(h), self.log_var(h)
        eps = torch.randn_like(mu) if eps is None else eps
        logits = self.dec(mu + torch.exp(0.5 * log_var) * eps)
        rec = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = 0.5 * (mu * mu + torch.exp(log_var) - log_var - 1).sum()
        return (rec + kl) / x.shape[0]


class TorchHRED(torch.nn.Module):
    """``zoo.HRED`` / ``zoo.VHRED`` in PyTorch, batched as glassnet's (same index bookkeeping per step).

    ``packed=False``: the utterance and context GRUs run over the whole padded batch and the state is read
    at ``length - 1``; ``packed=True``: they read ``pack_padded_sequence`` batches, which skip the padded
    steps (as glassnet's fused GRU does).
    """

    def __init__(self, ours: HRED, packed: bool = False):
        super().__init__()
        self.packed = packed
        self.latent = isinstance(ours, VHRED)
        self.embed = torch.nn.Embedding(*ours.embed.W.shape)
        with torch.no_grad():
            self.embed.weight.copy_(torch.from_numpy(ours.embed.W.data))
        self.utterance_encoder, self.context_encoder = _gru(ours.utterance_encoder), _gru(ours.context_encoder)
        self.decoder_init, self.decoder, self.out = _linear(ours.decoder_init), _gru(ours.decoder), _linear(ours.out)
        if self.latent:
            for name in ("prior_hidden", "prior_mu", "prior_log_var", "posterior_hidden", "posterior_mu",
                         "posterior_log_var"):
                setattr(self, name, _linear(getattr(ours, name)))

    def _final_states(self, gru, x, lengths):
        """Each sequence's state after ``lengths`` steps, ``(M, H)``."""
        if self.packed:
            return gru(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))[1][0]
        hs, _ = gru(x)  # (M, L, H)
        return hs[torch.arange(len(x)), lengths - 1]

    def encode_utterances(self, tokens: np.ndarray) -> torch.Tensor:
        lengths = torch.from_numpy((tokens != PAD).sum(axis=1))  # (M,)
        return self._final_states(self.utterance_encoder, self.embed(torch.from_numpy(tokens)), lengths)  # at <eos>

    def loss(self, context, n_turns, response, eps=None):
        N, U, L = context.shape
        turn = np.arange(U)[None, :] < n_turns[:, None]  # (N, U) left-aligned slots
        rows = (np.arange(N)[:, None] * U + np.arange(U)[None, :] + (U - n_turns)[:, None])[turn]
        u = self.encode_utterances(context.reshape(N * U, L)[rows])  # (M, H_u)
        slot = np.where(turn, np.cumsum(turn.ravel()).reshape(N, U) - 1, len(rows))
        u = torch.cat([u, u.new_zeros(1, u.shape[1])])[torch.from_numpy(slot)]  # (N, U, H_u)
        c = self._final_states(self.context_encoder, u, torch.from_numpy(n_turns))  # (N, H_c)
        kl = None
        if self.latent:
            h = torch.tanh(self.prior_hidden(c))
            mu_p, lv_p = self.prior_mu(h), self.prior_log_var(h)
            r = self.encode_utterances(np.ascontiguousarray(response[:, 1:]))
            h = torch.tanh(self.posterior_hidden(torch.cat([c, r], dim=1)))
            mu_q, lv_q = self.posterior_mu(h), self.posterior_log_var(h)
            eps = torch.randn_like(mu_q) if eps is None else eps
            z = mu_q + torch.exp(0.5 * lv_q) * eps
            kl = 0.5 * (lv_p - lv_q + torch.exp(lv_q - lv_p) + (mu_q - mu_p) ** 2 * torch.exp(-lv_p) - 1).sum()
            c = torch.cat([c, z], dim=1)
        inputs, targets = torch.from_numpy(response[:, :-1].copy()), torch.from_numpy(response[:, 1:].copy())
        s0 = torch.tanh(self.decoder_init(c))[None]  # (1, N, H_d)
        x = torch.cat([self.embed(inputs), c[:, None].expand(-1, inputs.shape[1], -1)], dim=2)
        hs, _ = self.decoder(x, s0)
        logits = self.out(hs)  # (N, T-1, V)
        nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                                ignore_index=PAD, reduction="sum")
        total = nll if kl is None else nll + kl
        return total / int((targets != PAD).sum())


# ----------------------------------------------------------------------------------------------------- batches
def mnist_like(N: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """Pixels in [0, 1] (the cost of a step does not depend on their values)."""
    return rng.random((N, d), dtype=np.float32)


def dialogue_batch(s: dict, rng: np.random.Generator):
    """``context (N, U, L)``, ``n_turns (N,)``, ``response (N, T)`` in the dialogue reader's layout."""
    N, U, L, T, V = s["N"], s["U"], s["L"], s["T"], s["V"]
    n_turns = rng.integers(1, U + 1, N)
    context = np.full((N, U, L), PAD, np.int64)
    for n in range(N):
        for j in range(U - n_turns[n], U):
            k = rng.integers(2, L + 1)  # tokens incl. <eos>
            context[n, j, :k - 1] = rng.integers(4, V, k - 1)
            context[n, j, k - 1] = EOS
    response = np.full((N, T), PAD, np.int64)
    response[:, 0] = BOS
    for n in range(N):
        k = rng.integers(3, T + 1)  # <bos> tokens <eos>
        response[n, 1:k - 1] = rng.integers(4, V, k - 2)
        response[n, k - 1] = EOS
    return context, n_turns, response


# ------------------------------------------------------------------------------------------------- contestants
class Case:
    """One model: glassnet's, its torch twins (name -> module), the batches, and a loss for each framework."""

    def __init__(self, label, unit, ours, twins, batches, tbatches, our_loss, their_loss, per_step, eps_shape):
        self.label, self.unit, self.ours, self.twins = label, unit, ours, twins
        self.batches, self.tbatches, self.our_loss, self.their_loss = batches, tbatches, our_loss, their_loss
        self.per_step, self.eps_shape = per_step, eps_shape

    def parity(self, twin) -> tuple[float, float, float]:
        """Both losses and gradients at step 0 on the shared weights with the same ε (glassnet draws it from
        seed 7): ``(glassnet loss, torch loss, largest gradient difference relative to that parameter's
        largest gradient entry)``."""
        eps = None
        if self.eps_shape is not None:
            eps = torch.from_numpy(np.random.default_rng(7).standard_normal(self.eps_shape).astype(np.float32))
        loss = self.our_loss(self.batches[0], 7)
        self.ours.zero_grad()
        loss.backward()
        tloss = self.their_loss(twin, self.tbatches[0], eps)
        twin.zero_grad()
        tloss.backward()
        rel = max(float(np.abs(p.grad - g().numpy()).max() / max(np.abs(g().numpy()).max(), 1e-12))
                  for _, p, g in _grad_pairs(self.ours, twin))
        return loss.item(), tloss.item(), rel


def make_vae(rng: np.random.Generator) -> Case:
    s = VAE_SIZE
    ours = VAE(s["d"], s["hidden"], s["z"], rng=0)
    batches = [mnist_like(s["N"], s["d"], rng) for _ in range(4)]
    return Case(f"VAE {s['d']}-{s['hidden']}-{s['z']}, N {s['N']}", "img", ours, {"torch": TorchVAE(ours)}, batches,
                [torch.from_numpy(b) for b in batches], lambda b, gen: ours.loss(b, rng=gen),
                lambda twin, b, eps=None: twin.loss(b, eps), s["N"], (s["N"], s["z"]))


def make_dialogue(kind: str, size: str, rng: np.random.Generator) -> Case:
    s = DIALOGUE_SIZES[size]
    if kind == "vhred":
        ours = VHRED(s["V"], s["E"], s["H"], s["H"], s["H"], latent=s["Z"], latent_hidden=s["H"], rng=0)
    else:
        ours = HRED(s["V"], s["E"], s["H"], s["H"], s["H"], rng=0)
    batches = [dialogue_batch(s, rng) for _ in range(4)]
    tokens = float(np.mean([(b[2][:, 1:] != PAD).sum() for b in batches]))  # target tokens per step
    return Case(f"{kind.upper()} {size} (V {s['V']}, H {s['H']}, N {s['N']})", "tok", ours,
                {"torch": TorchHRED(ours), "torch packed": TorchHRED(ours, packed=True)}, batches, batches,
                lambda b, gen: ours.loss(*b, rng=gen), lambda twin, b, eps=None: twin.loss(*b, eps=eps), tokens,
                (s["N"], s["Z"]) if kind == "vhred" else None)


# ---------------------------------------------------------------------------------------------------- timing
def time_blocks(blocks: dict, repeats: int) -> dict:
    """Per-step seconds of each block of each contestant: one warm-up block, then round-robin blocks."""
    for block in blocks.values():
        block()
    times = {name: [] for name in blocks}
    for _ in range(repeats):
        for name, block in blocks.items():
            t0 = time.perf_counter()
            n = block()
            times[name].append((time.perf_counter() - t0) / n)
    return times


def run_case(case: Case, args) -> dict:
    parity = {}
    for name, twin in case.twins.items():
        a, b, grad_rel = case.parity(twin)
        rel = abs(a - b) / max(abs(b), 1e-12)
        if rel > 1e-5:
            raise SystemExit(f"{case.label}: parity check failed against {name}: glassnet loss {a!r}, "
                             f"torch loss {b!r} (relative difference {rel:.1e})")
        parity[name] = (a, b, rel, grad_rel)
    gen = np.random.default_rng(1)
    ours_opt = optim.Adam(list(case.ours.parameters()), lr=1e-3)

    def ours_block():
        for i in range(args.steps):
            loss = case.our_loss(case.batches[i % len(case.batches)], gen)
            ours_opt.zero_grad()
            loss.backward()
            ours_opt.step()
        return args.steps

    def torch_block(twin):
        opt = torch.optim.Adam(twin.parameters(), lr=1e-3)

        def block():
            for i in range(args.steps):
                loss = case.their_loss(twin, case.tbatches[i % len(case.tbatches)])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            return args.steps

        return block

    blocks = {"glassnet": ours_block, **{name: torch_block(twin) for name, twin in case.twins.items()}}
    times = time_blocks(blocks, args.repeats)
    return dict(case=case, parity=parity, best={k: min(v) for k, v in times.items()},
                med={k: float(np.median(v)) for k, v in times.items()})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS / OpenMP threads for NumPy and torch")
    parser.add_argument("--repeats", type=int, default=10, help="timed blocks per contestant")
    parser.add_argument("--steps", type=int, default=3, help="training steps per block")
    parser.add_argument("--only", nargs="+", default=["vae", "hred", "vhred"], choices=["vae", "hred", "vhred"])
    parser.add_argument("--sizes", nargs="+", default=list(DIALOGUE_SIZES), choices=list(DIALOGUE_SIZES),
                        help="HRED/VHRED sizes")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load0 = os.getloadavg()
    rows = []
    with threadpool_limits(limits=args.threads):
        blas = [f"{i['internal_api']} {i.get('version')} ({i.get('num_threads')} thr)" for i in threadpool_info()
                if i["user_api"] == "blas"]
        print(f"threads: {args.threads}; NumPy BLAS: {', '.join(blas)}; torch {torch.__version__}; float32; "
              f"step = forward + backward + Adam; blocks of {args.steps} steps, {args.repeats} blocks round-robin; "
              f"load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}", flush=True)
        cases = []
        if "vae" in args.only:
            cases.append(lambda: make_vae(np.random.default_rng(0)))
        for kind in ("hred", "vhred"):
            if kind in args.only:
                cases += [lambda k=kind, z=size: make_dialogue(k, z, np.random.default_rng(0)) for size in args.sizes]
        for make in cases:
            rows.append(run_case(make(), args))
            print(f"  done: {rows[-1]['case'].label} (load average {os.getloadavg()[0]:.2f})", flush=True)
    load1 = os.getloadavg()
    print("\nparity at step 0 (shared weights, same ε): loss glassnet vs torch; largest gradient difference "
          "relative to the largest gradient entry of that parameter")
    for r in rows:
        for name, (a, b, rel, grad_rel) in r["parity"].items():
            print(f"  {r['case'].label} vs {name}: {a:.6f} vs {b:.6f} (rel {rel:.1e}), gradients {grad_rel:.1e}")
    print()
    print("| model | torch twin | glassnet ms/step (best / median) | torch ms/step (best / median) | glassnet "
          "(best) | glassnet / torch (best / median) | goal 0.8x |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        c, gb, gm = r["case"], r["best"]["glassnet"], r["med"]["glassnet"]
        for name in c.twins:
            tb, tm = r["best"][name], r["med"][name]
            ratio = tb / gb
            print(f"| {c.label} | {name} | {gb * 1e3:.1f} / {gm * 1e3:.1f} | {tb * 1e3:.1f} / {tm * 1e3:.1f} | "
                  f"{c.per_step / gb:.0f} {c.unit}/s | {ratio:.2f}x / {tm / gm:.2f}x | "
                  f"{'pass' if ratio >= GOAL else 'FAIL'} |")
    print(f"\nload average (1 min) before {load0[0]:.2f}, after {load1[0]:.2f}; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

"""Hierarchical encoder-decoders for dialogue: HRED (Serban et al. 2016) and VHRED (Serban et al. 2017).

A dialogue is a sequence of utterances; the model reads it on two levels::

    u_i = GRU_utt(e(w_{i,1}) .. e(w_{i,L_i}))            utterance vector, state at <eos>   (N, U, H_u)
    c   = GRU_ctx(u_{U-n+1} .. u_U)                       context state over the n real turns (N, H_c)
    s_0 = tanh(c W_0 + b_0)                               decoder's initial state             (N, H_d)
    s_t = GRU_dec([e(y_{t-1}); c], s_{t-1})               the context enters every step       (N, T, H_d)
    p(y_t | y_<t, context) = softmax(s_t W_o + b_o)                                           (N, T, V)

VHRED adds one latent variable ``z`` per response and conditions the decoder on ``[c; z]`` instead of ``c``::

    prior      p(z | c)    = N(μ_p, diag σ_p²),  (μ_p, log σ_p²) = MLP_p(c)
    posterior  q(z | c, r) = N(μ_q, diag σ_q²),  (μ_q, log σ_q²) = MLP_q([c; GRU_utt(r)])
    -ELBO = Σ_t -log p(y_t | y_<t, c, z) + KL(q || p),   z = μ_q + σ_q ⊙ ε  (training),  z ~ p(z|c)  (generation)

Batches (the dialogue reader's interface): ``context (N, U, L)`` int64, the U previous utterances, most
recent LAST, each ``tokens <eos>`` then ``pad_id``; missing turns early in a dialogue are all-pad rows at
the FRONT; ``n_turns (N,)`` how many rows are real (1..U); ``response (N, T)`` ``<bos> tokens <eos>`` then pads.

No Python loop runs over the batch: the real utterances of the whole batch are encoded in one fused GRU
call (``lengths`` = tokens up to and including ``<eos>``, so the state is the one at ``<eos>``), then
gathered left-aligned into ``(N, U, H_u)`` so that the context GRU's own ``lengths = n_turns`` skips the
missing turns: an empty turn never touches the context state.

The sequence-to-sequence baseline (Vinyals & Le 2015; Sordoni et al. 2015) is ``HRED(context_rnn=False)``:
the same utterance encoder, decoder and output layer, but the decoder is conditioned on the encoding of
the previous utterance alone (``c = u_U``), whatever U the batch has.

Deliberate deviations from the papers: a plain linear output layer (the papers add a maxout layer fed with
the decoder state, the context and the previous word's embedding); one GRU layer each; the VHRED MLPs
are one tanh hidden layer that emits ``log σ²`` directly (the paper uses softplus for σ); the posterior
reads the response through the shared utterance encoder (as the paper), not a separate one.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

import glassnet.functional as F
from glassnet import nn, no_grad
from glassnet.autograd import Tensor
from glassnet.backend import get_array_module, to_numpy
from glassnet.checks import as_generator, check_bool, check_choice, check_int, check_number, check_size
from glassnet.errors import DataError, DTypeError, ShapeError

__all__ = ["HRED", "VHRED", "DialogueLossTerms", "linear_kl_weight", "REPLY_METHODS"]

REPLY_METHODS = ("greedy", "sample", "beam")


class DialogueLossTerms(NamedTuple):
    """The pieces of a dialogue model's loss on one batch.

    Attributes:
        nll: summed negative log-likelihood of the response tokens in nats (a scalar Tensor).
        tokens: how many target tokens it sums over (every non-pad token after ``<bos>``, ``<eos>`` included).
        kl: VHRED's ``KL(q(z|c, r) || p(z|c))`` per response in nats, ``(N,)`` Tensor; None for HRED.
    """

    nll: Tensor
    tokens: int
    kl: Tensor | None


def linear_kl_weight(step: int, anneal_steps: int) -> float:
    """KL annealing (Bowman et al. 2016): the weight of the KL term at training step ``step`` (from 0).

    ``min(1, step / anneal_steps)``: 0 at the first step, rising linearly to 1 after ``anneal_steps``
    steps, so that the decoder learns to use ``z`` before the KL term pushes the posterior onto the
    prior. ``anneal_steps = 0`` is no annealing (always 1).

    Raises:
        ConfigError: if ``step`` or ``anneal_steps`` is not an int >= 0.
    """
    step = check_int(step, "step", "linear_kl_weight", min=0)
    anneal_steps = check_int(anneal_steps, "anneal_steps", "linear_kl_weight", min=0)
    return 1.0 if anneal_steps == 0 else min(1.0, step / anneal_steps)


def _int_array(name: str, arg: str, value, ndim: int, want: str) -> np.ndarray:
    a = to_numpy(value)  # the ids' bookkeeping runs on the host: the explicit path, a no-op for host ids
    if a.ndim != ndim:
        raise ShapeError(f"{name}: {arg} must be {want} token ids, got shape {a.shape}")
    if a.dtype.kind not in "iu":
        raise DTypeError(f"{name}: {arg} must be an integer array, got dtype {a.dtype}")
    return a.astype(np.int64, copy=False)


class HRED(nn.Module):
    """Hierarchical recurrent encoder-decoder (Serban et al. 2016) for the next utterance of a dialogue.

    Equations, shapes and the batch layout: see the module docstring. Parameters: ``embed.W (V, E)``
    shared by every level; ``utterance_encoder`` GRU ``E -> H_u``; ``context_encoder`` GRU ``H_u -> H_c``
    (absent with ``context_rnn=False``, where ``H_c = H_u``); ``decoder_init`` Linear ``C -> H_d`` and
    ``decoder`` GRU ``E + C -> H_d`` with ``C = H_c`` (VHRED: ``H_c + Z``); ``out`` Linear ``H_d -> V``.
    GRUs pack gates ``r|z|n`` with ``W_x (D, 3H)`` (PyTorch's order, ``weight_ih = W_x.T``).

    Args:
        vocab: V. embed: E. utterance_hidden: H_u. context_hidden: H_c. decoder_hidden: H_d.
        context_rnn: False for the seq2seq baseline that sees only the previous utterance.
        word_dropout: probability of replacing each decoder input token (not ``<bos>``, not padding) by
            ``<unk>`` during training (Bowman et al. 2016); off in ``eval()`` mode. Default 0.
        pad_id, unk_id, bos_id, eos_id: the special tokens' ids.
        rng: Generator or seed for the initial weights; the model keeps a Generator for word dropout (and
            VHRED's ε) whenever a call is not given its own ``rng``.

    Init: as the layers' (PyTorch's): embeddings N(0, 1), GRUs and Linear ``U(-1/√fan, 1/√fan)``.

    Raises:
        ConfigError: on a size < 1, ``word_dropout`` outside ``[0, 1)``, a non-bool ``context_rnn``, a bad
            special id or rng.
    """

    def __init__(self, vocab: int, embed: int = 64, utterance_hidden: int = 128, context_hidden: int = 128,
                 decoder_hidden: int = 128, context_rnn: bool = True, word_dropout: float = 0.0,
                 pad_id: int = 0, unk_id: int = 1, bos_id: int = 2, eos_id: int = 3, rng: Any = None):
        super().__init__()
        name = type(self).__name__
        self.vocab = check_size(vocab, "vocab", name)
        E = check_size(embed, "embed", name)
        H_u = check_size(utterance_hidden, "utterance_hidden", name)
        self.context_rnn = check_bool(context_rnn, "context_rnn", name)
        H_c = check_size(context_hidden, "context_hidden", name) if self.context_rnn else H_u
        H_d = check_size(decoder_hidden, "decoder_hidden", name)
        self.word_dropout = check_number(word_dropout, "word_dropout", name, min=0.0, max=1.0, max_open=True)
        for arg, v in (("pad_id", pad_id), ("unk_id", unk_id), ("bos_id", bos_id), ("eos_id", eos_id)):
            check_int(v, arg, name, min=0, max=self.vocab - 1)
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = int(pad_id), int(unk_id), int(bos_id), int(eos_id)
        self.context_size = H_c
        self.rng = as_generator(rng, f"{name}: rng")
        cond = H_c + self._latent_size()
        self.embed = nn.Embedding(self.vocab, E, rng=self.rng)
        self.utterance_encoder = nn.GRU(E, H_u, rng=self.rng)
        if self.context_rnn:
            self.context_encoder = nn.GRU(H_u, H_c, rng=self.rng)
        self._build_latent(self.rng, H_u, H_c)
        self.decoder_init = nn.Linear(cond, H_d, rng=self.rng)
        self.decoder = nn.GRU(E + cond, H_d, rng=self.rng)
        self.out = nn.Linear(H_d, self.vocab, rng=self.rng)

    # hooks that VHRED overrides: the latent part of the decoder's condition
    def _latent_size(self) -> int:
        return 0

    def _build_latent(self, rng, H_u: int, H_c: int) -> None:
        pass

    def _train_condition(self, c: Tensor, response: np.ndarray, rng) -> tuple[Tensor, Tensor | None]:
        """The decoder's condition ``(N, C)`` when it reads the true response, and the KL per response."""
        return c, None

    def _reply_condition(self, c: Tensor, rng) -> Tensor:
        """The decoder's condition ``(N, C)`` at generation."""
        return c

    # ---------------------------------------------------------------------------------------- checks
    def _check_batch(self, context, n_turns, response=None):
        name = type(self).__name__
        context = _int_array(name, "context", context, 3, "(N, U, L)")
        N, U, L = context.shape
        if U < 1 or L < 1:
            raise ShapeError(f"{name}: context must be (N, U, L) with U >= 1 and L >= 1, got {context.shape}")
        n_turns = to_numpy(n_turns)
        if n_turns.shape != (N,) or n_turns.dtype.kind not in "iu" or (N and (n_turns.min() < 1
                                                                              or n_turns.max() > U)):
            raise ShapeError(f"{name}: n_turns must be (N,) == ({N},) integers in [1, U] = [1, {U}], "
                             f"got {n_turns.dtype} {n_turns.shape} {n_turns.tolist()}")
        n_turns = n_turns.astype(np.int64)
        real = self._utterance_lengths(name, "context", context.reshape(N * U, L)).reshape(N, U)
        missing = np.arange(U)[None, :] < (U - n_turns)[:, None]  # (N, U) front rows that are not turns
        if (real[missing] > 0).any() or (real[~missing] == 0).any():
            n = int(np.nonzero(((real > 0) & missing) | ((real == 0) & ~missing))[0][0])
            raise DataError(f"{name}: context row {n} must hold its {n_turns[n]} turns in the LAST rows and "
                            f"all-pad rows before them, got token counts {real[n].tolist()}")
        if response is None:
            return context, n_turns, None
        response = _int_array(name, "response", response, 2, "(N, T)")
        if response.shape[0] != N or response.shape[1] < 2:
            raise ShapeError(f"{name}: response must be (N, T) == ({N}, >= 2) ids <bos> .. <eos>, "
                             f"got shape {response.shape}")
        if (response[:, 0] != self.bos_id).any():
            raise DataError(f"{name}: response must start with <bos> = {self.bos_id}, got first tokens "
                            f"{response[:, 0].tolist()}")
        self._utterance_lengths(name, "response", response)
        return context, n_turns, response

    def _utterance_lengths(self, name: str, arg: str, tokens: np.ndarray) -> np.ndarray:
        """Tokens before the padding of each row ``(M, L) -> (M,)``; padding must only trail."""
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.vocab):
            raise DataError(f"{name}: {arg} ids must lie in [0, V) = [0, {self.vocab}), "
                            f"got min {tokens.min()} and max {tokens.max()}")
        real = tokens != self.pad_id
        lengths = real.sum(axis=1)
        if (real != (np.arange(tokens.shape[1])[None, :] < lengths[:, None])).any():
            raise DataError(f"{name}: {arg} must be tokens then padding (pad_id = {self.pad_id}) in each "
                            "utterance, found a pad before a token")
        return lengths

    # ---------------------------------------------------------------------------------------- pieces
    def encode_utterances(self, tokens) -> Tensor:
        """``tokens (M, L)`` (tokens, ``<eos>``, pads) -> the utterance encoder's state at ``<eos>``, ``(M, H_u)``."""
        tokens = to_numpy(tokens)
        lengths = (tokens != self.pad_id).sum(axis=1)
        _, h = self.utterance_encoder(self.embed(tokens), lengths=lengths)  # h (1, M, H_u): state at each length
        return F.getitem(h, 0)

    def encode_context(self, context, n_turns) -> Tensor:
        """The context state ``c (N, H_c)`` of a batch (HRED: the context GRU's state after the last turn)."""
        context, n_turns, _ = self._check_batch(context, n_turns)
        N, U, L = context.shape
        turn = np.arange(U)[None, :] < n_turns[:, None]  # (N, U) slot j holds a turn, left-aligned
        # slot j of dialogue n holds row U - n_turns[n] + j: the turns keep their order, the missing front
        # rows move out of the way, so the context GRU's lengths = n_turns never reads an empty turn
        rows = (np.arange(N)[:, None] * U + np.arange(U)[None, :] + (U - n_turns)[:, None])[turn]  # (M,)
        u = self.encode_utterances(context.reshape(N * U, L)[rows])  # (M, H_u), M = Σ n_turns
        if not self.context_rnn:
            last = np.cumsum(n_turns) - 1  # each dialogue's most recent turn in the M encoded ones
            return F.getitem(u, last)  # (N, H_u)
        H_u = u.shape[1]
        slot = np.where(turn, np.cumsum(turn.ravel()).reshape(N, U) - 1, len(rows))  # (N, U); M = a zero row
        zero = get_array_module(u).zeros((1, H_u), u.dtype)
        u = F.getitem(F.concat([u, zero], axis=0), slot)  # (N, U, H_u), zeros past n
        _, h = self.context_encoder(u, lengths=n_turns)  # (1, N, H_c)
        return F.getitem(h, 0)

    def decode(self, tokens, cond: Tensor, state=None) -> tuple[Tensor, Tensor]:
        """Run the decoder over ``tokens (N, T)`` given the condition ``cond (N, C)``.

        ``state (1, N, H_d)``, or None for the initial ``tanh(cond W_0 + b_0)``. Returns
        ``(logits (N, T, V), state (1, N, H_d))``.
        """
        tokens = to_numpy(tokens)
        N, T = tokens.shape
        if state is None:
            state = F.reshape(F.tanh(self.decoder_init(cond)), (1, N, -1))  # (1, N, H_d)
        # the decoder GRU over [e(y_{t-1}); cond] at every step (its W_x is (E + C, 3H_d)); F.gru's cond
        # computes cond's share of the gates once per response instead of at each of the T steps
        dec = self.decoder
        hs, h_T = F.gru(self.embed(tokens), F.getitem(state, 0), dec.W_x_l0, dec.W_h_l0, dec.b_l0,
                        reset_after=dec.reset_after, cond=cond)  # hs (N, T, H_d)
        return self.out(hs), F.reshape(h_T, (1, N, -1))  # (N, T, V), (1, N, H_d)

    def decoder_inputs(self, response, rng=None) -> np.ndarray:
        """``response[:, :-1]`` with word dropout in training mode: each token other than ``<bos>`` and
        padding becomes ``<unk>`` with probability ``word_dropout`` (a copy; ``rng`` or the model's own)."""
        inputs = np.array(response[:, :-1], dtype=np.int64)  # (N, T-1)
        if self.training and self.word_dropout > 0:
            gen = self.rng if rng is None else as_generator(rng, f"{type(self).__name__}: rng")
            droppable = (inputs != self.bos_id) & (inputs != self.pad_id)
            inputs[droppable & (gen.random(inputs.shape) < self.word_dropout)] = self.unk_id
        return inputs

    # ------------------------------------------------------------------------------------------ loss
    def terms(self, context, n_turns, response, rng=None) -> DialogueLossTerms:
        """Teacher forcing over ``response``: the summed NLL, the token count, and (VHRED) the KL per response.

        The decoder reads ``response[:, :-1]`` (after word dropout) and predicts ``response[:, 1:]``;
        pad targets are not counted. ``rng``: Generator or seed for word dropout and ε (default: the model's).
        """
        context, n_turns, response = self._check_batch(context, n_turns, response)
        c = self.encode_context(context, n_turns)
        cond, kl = self._train_condition(c, response, rng)
        logits, _ = self.decode(self.decoder_inputs(response, rng), cond)  # (N, T-1, V)
        targets = response[:, 1:]
        nll = F.softmax_cross_entropy(logits, targets, ignore_index=self.pad_id, reduction="sum")
        return DialogueLossTerms(nll, int((targets != self.pad_id).sum()), kl)

    def loss(self, context, n_turns, response, rng=None) -> Tensor:
        """Mean NLL per response token in nats, ``Σ_t -log p(y_t | y_<t, context) / #tokens``.

        ``exp`` of it on a whole corpus (summed :meth:`nll` over summed tokens) is the perplexity.
        """
        t = self.terms(context, n_turns, response, rng)
        return t.nll * (1.0 / t.tokens) if t.tokens else t.nll

    def nll(self, context, n_turns, response) -> tuple[float, int]:
        """``(summed NLL in nats, token count)`` of a batch, without gradients, for corpus perplexity
        ``exp(Σ nll / Σ tokens)`` (VHRED: the reconstruction term for one posterior sample, ε from the model's
        Generator). Call ``eval()`` first, or word dropout still acts."""
        with no_grad():
            t = self.terms(context, n_turns, response)
        return float(t.nll.item()), t.tokens

    # -------------------------------------------------------------------------------------- generation
    def reply(self, context, n_turns, method: str = "greedy", max_len: int = 30, temperature: float = 1.0,
              top_k: int | None = None, beam: int = 4, rng: Any = None) -> list[list[int]]:
        """Generate the next utterance of each dialogue.

        Args:
            method: ``"greedy"`` (most probable token each step), ``"sample"`` (from
                ``softmax(logits / temperature)``, restricted to the ``top_k`` most probable if given) or
                ``"beam"`` (the ``beam`` most probable partial replies, the answer with the highest
                log-probability among the finished ones).
            max_len: most tokens generated per reply; decoding stops at ``<eos>`` or here.
            rng: Generator or seed for sampling (and VHRED's ``z ~ p(z|c)``).

        Returns:
            N lists of token ids, without ``<bos>`` and ``<eos>``; ``<pad>`` and ``<bos>`` are never generated.

        Raises:
            ConfigError: an unknown method, ``max_len``/``beam``/``top_k`` < 1, ``top_k > V``, temperature <= 0.
            ShapeError, DTypeError, DataError: a malformed ``context`` or ``n_turns``.
        """
        name = f"{type(self).__name__}.reply"
        check_choice(method, "method", REPLY_METHODS, name)
        max_len = check_size(max_len, "max_len", name)
        temperature = check_number(temperature, "temperature", name, min=0.0, min_open=True)
        if top_k is not None:
            top_k = check_int(top_k, "top_k", name, min=1, max=self.vocab)
        beam = check_size(beam, "beam", name)
        gen = as_generator(rng, f"{name}: rng")
        with no_grad():
            cond = self._reply_condition(self.encode_context(context, n_turns), gen)  # (N, C)
            if method == "beam":
                return [self._beam_one(F.getitem(cond, slice(n, n + 1)), beam, max_len) for n in range(len(cond))]
            return self._step_decode(cond, method, max_len, temperature, top_k, gen)

    def _step_decode(self, cond, method, max_len, temperature, top_k, gen) -> list[list[int]]:
        N = cond.shape[0]
        prev, state = np.full((N, 1), self.bos_id, np.int64), None
        out, done = [], np.zeros(N, bool)
        for _ in range(max_len):
            logits, state = self.decode(prev, cond, state)
            scores = self._next_scores(logits)  # (N, V)
            if method == "greedy":
                token = scores.argmax(axis=1)
            else:
                token = _sample(scores / temperature, top_k, gen)
            token = np.where(done, self.eos_id, token)
            out.append(token)
            done |= token == self.eos_id
            if done.all():
                break
            prev = token[:, None]
        tokens = np.stack(out, axis=1)  # (N, steps)
        return [row[:np.argmax(row == self.eos_id)].tolist() if (row == self.eos_id).any() else row.tolist()
                for row in tokens]

    def _next_scores(self, logits: Tensor) -> np.ndarray:
        """The logits ``(N, V)`` of the next token, ``<pad>`` and ``<bos>`` excluded (``-inf``): they are
        never a training target, so a reply never contains them."""
        scores = to_numpy(logits.data[:, 0]).astype(np.float64)  # (N, V), to the host: decoding picks there
        scores[:, [self.pad_id, self.bos_id]] = -np.inf
        return scores

    def _beam_one(self, cond, beam, max_len) -> list[int]:
        hyps, scores, state = [[]], np.zeros(1), None  # live candidates and their log-probabilities
        finished: list[tuple[float, list[int]]] = []
        for _ in range(max_len):
            b = len(hyps)
            prev = np.array([[h[-1] if h else self.bos_id] for h in hyps], np.int64)  # (b, 1)
            logits, new_state = self.decode(prev, F.getitem(cond, np.zeros(b, np.int64)), state)
            logp = self._next_scores(logits)  # (b, V)
            logp = logp - np.logaddexp.reduce(logp, axis=1, keepdims=True)  # log-softmax
            cand = (scores[:, None] + logp).ravel()
            best = np.argsort(-cand, kind="stable")[:beam]  # ties: lowest (candidate, token) first, as argmax
            rows, tokens = np.divmod(best, logp.shape[1])
            keep = [i for i, tok in enumerate(tokens) if tok != self.eos_id]
            finished += [(float(cand[best[i]]), hyps[rows[i]]) for i in range(len(best)) if i not in keep]
            if len(finished) >= beam or not keep:
                break
            hyps = [hyps[rows[i]] + [int(tokens[i])] for i in keep]
            scores = cand[best[keep]]
            state = new_state.data[:, rows[keep]]  # (1, b', H_d)
        pool = finished or list(zip(scores.tolist(), hyps))
        return max(pool, key=lambda sh: sh[0])[1]

    def extra_repr(self) -> str:
        s = f"vocab={self.vocab}"
        if not self.context_rnn:
            s += ", context_rnn=False"
        return s + (f", word_dropout={self.word_dropout}" if self.word_dropout else "")


def _sample(logits: np.ndarray, top_k: int | None, gen: np.random.Generator) -> np.ndarray:
    """One token per row of ``logits (N, V)`` from ``softmax(logits)``, among the ``top_k`` largest if given."""
    if top_k is not None:
        kth = np.sort(logits, axis=1)[:, -top_k][:, None]  # (N, 1) the k-th largest logit
        logits = np.where(logits >= kth, logits, -np.inf)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    cdf = np.cumsum(p, axis=1)  # (N, V)
    u = gen.random((len(p), 1)) * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(axis=1), p.shape[1] - 1)  # inverse CDF


class VHRED(HRED):
    """Latent variable hierarchical recurrent encoder-decoder (Serban et al. 2017).

    HRED plus a Gaussian latent ``z ∈ R^Z`` per response (module docstring): the decoder's initial
    state and every step's input are conditioned on ``[c; z]``. Training minimises the negative ELBO
    :meth:`loss` = ``(Σ_t NLL + kl_weight · Σ_n KL_n) / #tokens`` with ``z`` from the posterior by the
    reparameterisation trick; anneal ``kl_weight`` with :func:`linear_kl_weight` and use ``word_dropout``
    (the paper's remedies for posterior collapse); :meth:`terms` gives ``kl (N,)`` to watch a collapse
    (KL → 0 nats). At generation ``z ~ p(z|c)``.

    Extra parameters: ``prior_hidden`` Linear ``H_c -> H_z``, ``prior_mu``, ``prior_log_var`` Linear
    ``H_z -> Z``; ``posterior_hidden`` Linear ``H_c + H_u -> H_z``, ``posterior_mu``, ``posterior_log_var``.

    Args: as :class:`HRED` (``context_rnn`` must stay True), and
        latent: Z. latent_hidden: H_z, the MLPs' hidden width.
    """

    def __init__(self, vocab: int, embed: int = 64, utterance_hidden: int = 128, context_hidden: int = 128,
                 decoder_hidden: int = 128, latent: int = 32, latent_hidden: int = 128, word_dropout: float = 0.0,
                 pad_id: int = 0, unk_id: int = 1, bos_id: int = 2, eos_id: int = 3, rng: Any = None):
        self.latent = check_size(latent, "latent", "VHRED")
        self.latent_hidden = check_size(latent_hidden, "latent_hidden", "VHRED")
        super().__init__(vocab, embed, utterance_hidden, context_hidden, decoder_hidden, True, word_dropout,
                         pad_id, unk_id, bos_id, eos_id, rng)

    def _latent_size(self) -> int:
        return self.latent

    def _build_latent(self, rng, H_u: int, H_c: int) -> None:
        Z, H_z = self.latent, self.latent_hidden
        self.prior_hidden = nn.Linear(H_c, H_z, rng=rng)
        self.prior_mu = nn.Linear(H_z, Z, rng=rng)
        self.prior_log_var = nn.Linear(H_z, Z, rng=rng)
        self.posterior_hidden = nn.Linear(H_c + H_u, H_z, rng=rng)
        self.posterior_mu = nn.Linear(H_z, Z, rng=rng)
        self.posterior_log_var = nn.Linear(H_z, Z, rng=rng)

    def prior(self, c: Tensor) -> tuple[Tensor, Tensor]:
        """``(μ_p, log σ_p²)`` of ``p(z|c)``, each ``(N, Z)``, from the context state ``c (N, H_c)``."""
        h = F.tanh(self.prior_hidden(c))  # (N, H_z)
        return self.prior_mu(h), self.prior_log_var(h)

    def posterior(self, c: Tensor, response: np.ndarray) -> tuple[Tensor, Tensor]:
        """``(μ_q, log σ_q²)`` of ``q(z|c, r)``, each ``(N, Z)``; the response is read without ``<bos>``."""
        r = self.encode_utterances(response[:, 1:])  # (N, H_u), state at the response's <eos>
        h = F.tanh(self.posterior_hidden(F.concat([c, r], axis=1)))  # (N, H_z)
        return self.posterior_mu(h), self.posterior_log_var(h)

    def _train_condition(self, c, response, rng):
        mu_p, log_var_p = self.prior(c)
        mu_q, log_var_q = self.posterior(c, response)
        gen = self.rng if rng is None else as_generator(rng, "VHRED: rng")
        eps = get_array_module(mu_q).asarray(gen.standard_normal(mu_q.shape).astype(mu_q.dtype))  # host draw
        z = F.reparameterize(mu_q, log_var_q, eps)  # (N, Z)
        kl = F.sum(F.gaussian_kl_divergence_two(mu_q, log_var_q, mu_p, log_var_p, reduction="none"), axis=1)  # (N,)
        return F.concat([c, z], axis=1), kl

    def _reply_condition(self, c, rng):
        mu_p, log_var_p = self.prior(c)
        eps = get_array_module(mu_p).asarray(rng.standard_normal(mu_p.shape).astype(mu_p.dtype))  # host draw
        return F.concat([c, F.reparameterize(mu_p, log_var_p, eps)], axis=1)  # (N, H_c + Z), z ~ p(z|c)

    def loss(self, context, n_turns, response, kl_weight: float = 1.0, rng=None) -> Tensor:
        """Negative ELBO per response token in nats: ``(Σ_t NLL + kl_weight · Σ_n KL_n) / #tokens``.

        With ``kl_weight = 1`` ``exp`` of it over a corpus bounds the perplexity from above.

        Raises:
            ConfigError: if ``kl_weight`` is not a number in [0, 1].
        """
        kl_weight = check_number(kl_weight, "kl_weight", "VHRED.loss", min=0.0, max=1.0)
        t = self.terms(context, n_turns, response, rng)
        total = t.nll + F.sum(t.kl) * kl_weight
        return total * (1.0 / t.tokens) if t.tokens else total

    def extra_repr(self) -> str:
        return super().extra_repr() + f", latent={self.latent}"

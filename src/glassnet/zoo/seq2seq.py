"""Encoder-decoder (seq2seq) models with and without attention, and their decoding (greedy, beam search).

The encoder LSTM reads the source ``x_1..x_S`` and its final state ``(h_S, c_S)`` becomes the decoder
LSTM's initial state (Sutskever et al. 2014): everything the decoder knows about the source must pass
through that fixed-size state, the bottleneck. With attention (Bahdanau et al. 2015; Luong et al. 2015)
the decoder also looks back at every encoder state at every step::

    h_t = LSTM(y_{t-1}, h_{t-1})                      decoder state      (N, T, H)
    a_t = masked_softmax(score(h_t, hs_enc))           weights over S     (N, T, S)
    c_t = Σ_s a_ts hs_enc_s                            context            (N, T, H)
    h~_t = tanh([c_t; h_t] W_c + b_c)                  attentional state  (N, T, H)
    p(y_t | y_<t, x) = softmax(h~_t W_o + b_o)                            (N, T, V)

Attention placement follows Luong et al. (after the decoder RNN, no input feeding) for every score
("dot", "general", "additive"), so training with teacher forcing runs the decoder over the whole target in
one fused LSTM call; Bahdanau et al. feed the context into the decoder RNN instead (a deliberate deviation).
Source padding is masked out of the softmax. Decoding stops at ``<eos>`` or after ``max_len`` tokens,
so a model that never learned to emit ``<eos>`` still stops.
"""

from __future__ import annotations

import contextlib

import numpy as np

import glassnet.functional as F
from glassnet import nn, no_grad
from glassnet.backend import get_array_module, to_numpy
from glassnet.checks import as_generator, check_number, check_size
from glassnet.errors import ConfigError, ShapeError
from glassnet.nn import init

__all__ = ["Seq2Seq", "ATTENTION_SCORES"]

ATTENTION_SCORES = ("dot", "general", "additive")


class Seq2Seq(nn.Module):
    """LSTM encoder-decoder, optionally with attention.

    Args:
        src_vocab, tgt_vocab: source and target vocabulary sizes.
        embed: embedding size E. hidden: LSTM hidden size H.
        attention: None (plain encoder-decoder) or a score: ``"dot"``, ``"general"``, ``"additive"``.
        bos_id, eos_id, pad_id: target ids of ``<bos>``, ``<eos>``, ``<pad>`` (the source pads with ``pad_id``).
        dropout: probability p of inverted dropout (Srivastava et al. 2014) on the source and target
            embeddings and on the state fed to the output layer (``h~_t``, or ``h_t`` without attention), as
            in Luong et al. (2015) and Zaremba et al. (2014): between layers, never on the recurrent
            connections. Active in ``train()`` mode only; its masks come from the ``drop.rng`` Generator,
            drawn from ``rng`` after every initial weight (so the weights do not depend on ``dropout``), and
            saved by ``glassnet.train`` checkpoints.
        rng: Generator or seed for every initial weight.

    Init: embeddings N(0, 1) as ``nn.Embedding``; LSTMs and Linear layers as theirs (PyTorch's); the
    additive score's ``W_q, W_k, v`` as ``U(-1/√H, 1/√H)``.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed: int = 64, hidden: int = 128,
                 attention: str | None = None, bos_id: int = 2, eos_id: int = 3, pad_id: int = 0, rng=None,
                 dropout: float = 0.0):
        super().__init__()
        if attention is not None and attention not in ATTENTION_SCORES:
            raise ConfigError(f"Seq2Seq: attention must be None or one of {', '.join(ATTENTION_SCORES)}, "
                              f"got {attention!r}")
        rng = as_generator(rng, "Seq2Seq: rng")
        self.attention = attention
        self.bos_id, self.eos_id, self.pad_id = bos_id, eos_id, pad_id
        self.hidden_size = hidden
        self.src_embed = nn.Embedding(src_vocab, embed, rng=rng)
        self.encoder = nn.LSTM(embed, hidden, rng=rng)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed, rng=rng)
        self.decoder = nn.LSTM(embed, hidden, rng=rng)
        if attention == "general":
            self.W_a = nn.Parameter(init.uniform((hidden, hidden), -hidden**-0.5, hidden**-0.5, rng))  # (H, H)
        elif attention == "additive":
            k = hidden**-0.5
            self.W_q = nn.Parameter(init.uniform((hidden, hidden), -k, k, rng))  # (H, A), A = H
            self.W_k = nn.Parameter(init.uniform((hidden, hidden), -k, k, rng))  # (H, A)
            self.v_a = nn.Parameter(init.uniform((hidden,), -k, k, rng))  # (A,)
        if attention is not None:
            self.combine = nn.Linear(2 * hidden, hidden, rng=rng)  # W_c: [c; h] -> h~
        self.out = nn.Linear(hidden, tgt_vocab, rng=rng)
        self.drop = nn.Dropout(dropout, rng=np.random.default_rng(rng.integers(2**63)))

    # ------------------------------------------------------------------------------------------- pieces
    def encode(self, src, src_lengths=None):
        """``src (N, S)`` ids -> ``(hs (N, S, H), state (h, c) each (1, N, H), mask (N, S) bool)``."""
        xp = get_array_module(self.src_embed.W)
        src = xp.asarray(src)  # ids on the host or the model's device
        if src.ndim != 2:
            raise ShapeError(f"Seq2Seq: src must be (N, S) token ids, got shape {src.shape}")
        N, S = src.shape
        if src_lengths is None:
            src_lengths = xp.full(N, S, np.int64)
        src_lengths = xp.asarray(src_lengths)
        if src_lengths.shape != (N,) or (src_lengths < 1).any() or (src_lengths > S).any():
            raise ShapeError(f"Seq2Seq: src_lengths must be (N,) == ({N},) with values in [1, {S}], "
                             f"got {to_numpy(src_lengths).tolist()}")
        hs, state = self.encoder(self.drop(self.src_embed(src)), lengths=src_lengths)  # (N, S, H)
        return hs, state, F.length_mask(src_lengths, S)

    def decode(self, tgt_in, state, enc_hs, mask):
        """Run the decoder over ``tgt_in (N, T)`` from ``state``: ``(logits (N, T, V), state, weights)``.

        ``weights (N, T, S)`` are the attention weights (None without attention).
        """
        hs, state = self.decoder(self.drop(self.tgt_embed(tgt_in)), state)  # (N, T, H)
        weights = None
        if self.attention is not None:
            if self.attention == "dot":
                context, weights = F.dot_attention(hs, enc_hs, enc_hs, mask)  # (N, T, H), (N, T, S)
            else:
                if self.attention == "general":
                    scores = F.general_score(hs, enc_hs, self.W_a)  # (N, T, S)
                else:
                    scores = F.additive_score(hs, enc_hs, self.W_q, self.W_k, self.v_a)  # (N, T, S)
                weights = F.masked_softmax(scores, mask[:, None, :])
                context = F.context_vectors(weights, enc_hs)  # (N, T, H)
            hs = F.tanh(self.combine(F.concat([context, hs], axis=2)))  # (N, T, 2H) -> (N, T, H)
        return self.out(self.drop(hs)), state, weights  # (N, T, V)

    def forward(self, src, tgt_in, src_lengths=None):
        """Teacher forcing: the decoder reads the true previous tokens ``tgt_in (N, T)``; returns logits (N, T, V)."""
        enc_hs, state, mask = self.encode(src, src_lengths)
        logits, _, _ = self.decode(tgt_in, state, enc_hs, mask)
        return logits

    def loss(self, src, tgt, src_lengths=None, label_smoothing: float = 0.0):
        """Mean cross-entropy per target token: ``tgt (N, T+1)`` = ``<bos> y_1 .. y_n <eos> <pad>..``;
        the decoder reads ``tgt[:, :-1]`` and predicts ``tgt[:, 1:]``, padding ignored.

        ``label_smoothing`` ε: the target distribution is ``(1-ε) onehot + ε/V`` (see
        ``F.softmax_cross_entropy``; Szegedy et al. 2016, used for translation by Vaswani et al. 2017)."""
        tgt = get_array_module(self.tgt_embed.W).asarray(tgt)  # ids on the host or the model's device
        src_shape = src.shape if hasattr(src, "shape") else np.shape(src)
        n_src = src_shape[0] if len(src_shape) else None
        if tgt.ndim != 2 or tgt.shape[1] < 2 or tgt.shape[0] != n_src:
            raise ShapeError(f"Seq2Seq.loss: tgt must be (N, T+1) == ({n_src}, >= 2) ids <bos> .. <eos>, "
                             f"got shape {tgt.shape}")
        logits = self(src, tgt[:, :-1], src_lengths)
        return F.softmax_cross_entropy(logits, tgt[:, 1:], ignore_index=self.pad_id, label_smoothing=label_smoothing)

    # ----------------------------------------------------------------------------------------- decoding
    def greedy(self, src, src_lengths=None, max_len: int = 50, return_attention: bool = False):
        """Greedy decoding: at each step the most probable token, until ``<eos>`` or ``max_len`` tokens.

        Decoding runs in evaluation mode (no dropout) whatever the module's mode, which is restored after.

        Returns:
            list of N token-id lists (without ``<bos>`` and ``<eos>``); with ``return_attention`` also the
            weights ``(N, L, S)`` of the L steps taken (None without attention).
        """
        _check_max_len(max_len)
        with no_grad(), _eval_mode(self):
            enc_hs, state, mask = self.encode(src, src_lengths)
            N = enc_hs.shape[0]
            prev = np.full((N, 1), self.bos_id, np.int64)
            out = np.full((N, max_len), self.pad_id, np.int64)
            done = np.zeros(N, bool)
            steps, attn = 0, []
            for t in range(max_len):
                logits, state, w = self.decode(prev, state, enc_hs, mask)
                token = to_numpy(F.log_softmax(logits).data[:, 0].argmax(axis=1))  # (N,), as beam search ranks
                out[:, t] = np.where(done, self.pad_id, token)
                if w is not None:
                    attn.append(to_numpy(w.data[:, 0]))
                steps = t + 1
                done |= token == self.eos_id
                if done.all():
                    break
                prev = token[:, None]
        seqs = [_until_eos(row[:steps], self.eos_id) for row in out]
        if return_attention:
            return seqs, (np.stack(attn, axis=1) if attn else None)
        return seqs

    def beam_search(self, src, src_lengths=None, beam: int = 4, max_len: int = 50, length_penalty: float = 0.0):
        """Beam search: keep the ``beam`` most probable partial outputs at each step.

        A candidate ending in ``<eos>`` is set aside as finished; the search for a sentence stops when
        ``beam`` candidates have finished, none is left, or after ``max_len`` tokens. The answer is the
        finished candidate (or, if none finished, the live one) with the highest
        ``log p / len^length_penalty`` (0: plain log-probability). With ``beam = 1`` this is greedy decoding.
        Like :meth:`greedy`, it runs in evaluation mode.

        Returns:
            list of N token-id lists (without ``<bos>`` and ``<eos>``).
        """
        _check_max_len(max_len)
        beam = check_size(beam, "beam", "beam_search")
        length_penalty = check_number(length_penalty, "length_penalty", "beam_search")
        src = np.asarray(src)
        if src.ndim != 2:
            raise ShapeError(f"Seq2Seq: src must be (N, S) token ids, got shape {src.shape}")
        lengths = np.full(len(src), src.shape[1]) if src_lengths is None else np.asarray(src_lengths)
        if lengths.shape != (len(src),):  # checked here: slicing one row per sentence would hide a mismatch
            raise ShapeError(f"Seq2Seq: src_lengths must be (N,) == ({len(src)},), got shape {lengths.shape}")
        with no_grad(), _eval_mode(self):
            return [self._beam_one(src[n:n + 1], lengths[n:n + 1], beam, max_len, length_penalty)
                    for n in range(len(src))]

    def _beam_one(self, src, length, beam, max_len, length_penalty):
        enc_hs, state, mask = self.encode(src, length)  # one sentence: N = 1
        hyps, scores = [[]], np.zeros(1)  # live candidates and their log-probabilities
        finished: list[tuple[float, list[int]]] = []
        for _ in range(max_len):
            b = len(hyps)
            prev = np.array([[h[-1] if h else self.bos_id] for h in hyps], np.int64)  # (b, 1)
            enc_b = F.getitem(enc_hs, np.zeros(b, np.int64))  # (b, S, H), the same source for every candidate
            logits, new_state, _ = self.decode(prev, state, enc_b, mask.repeat(b, axis=0))
            logp = to_numpy(F.log_softmax(logits).data[:, 0]).astype(np.float64)  # (b, V), ranked on the host
            cand = (scores[:, None] + logp).ravel()
            best = np.argsort(-cand, kind="stable")[:beam]  # ties: lowest (candidate, token) first, as argmax
            rows, tokens = np.divmod(best, logp.shape[1])
            keep_rows, new_hyps, new_scores = [], [], []
            for r, tok, sc in zip(rows, tokens, cand[best]):
                if tok == self.eos_id:
                    finished.append((float(sc), hyps[r]))
                else:
                    keep_rows.append(r)
                    new_hyps.append(hyps[r] + [int(tok)])
                    new_scores.append(sc)
            if len(finished) >= beam or not new_hyps:
                break
            hyps, scores = new_hyps, np.array(new_scores)
            idx = np.array(keep_rows)
            state = tuple(s.data[:, idx] for s in new_state)  # (1, b', H) each
        pool = finished or [(float(s), h) for s, h in zip(scores, hyps)]
        return max(pool, key=lambda sh: sh[0] / max(len(sh[1]) + 1, 1) ** length_penalty)[1]


@contextlib.contextmanager
def _eval_mode(model: nn.Module):
    """Evaluation mode (dropout off) inside the block; the previous mode after it."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _check_max_len(max_len) -> None:
    check_size(max_len, "max_len", "Seq2Seq")


def _until_eos(row: np.ndarray, eos: int) -> list[int]:
    out = []
    for tok in row.tolist():
        if tok == eos:
            break
        out.append(tok)
    return out

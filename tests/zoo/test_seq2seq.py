import numpy as np
import pytest

from glassnet.data.datasets.dates import DATE_FORMATS, load_dates
from glassnet.errors import ConfigError, ShapeError
from glassnet.zoo.seq2seq import Seq2Seq

SRC = np.array([[5, 6, 7, 8], [9, 5, 0, 0], [6, 6, 6, 0]])
LENGTHS = np.array([4, 2, 3])
TGT = np.array([[2, 5, 6, 3, 0], [2, 7, 3, 0, 0], [2, 4, 4, 4, 3]])


@pytest.mark.parametrize("attention", [None, "dot", "general", "additive"])
def test_untrained_model_stops_at_max_len_and_beam1_equals_greedy(attention):
    # an untrained model rarely emits <eos>: decoding must still stop, after max_len tokens at most
    model = Seq2Seq(10, 12, 8, 16, attention=attention, rng=0)
    greedy = model.greedy(SRC, LENGTHS, max_len=7)
    assert len(greedy) == 3 and all(len(g) <= 7 for g in greedy)
    assert model.beam_search(SRC, LENGTHS, beam=1, max_len=7) == greedy
    assert all(len(b) <= 7 for b in model.beam_search(SRC, LENGTHS, beam=3, max_len=7))


def test_decoding_stops_at_eos():
    model = Seq2Seq(10, 12, 8, 16, attention="dot", rng=0)
    model.out.b.data[:] = 0
    model.out.b.data[3] = 100.0  # <eos> always wins
    assert model.greedy(SRC, LENGTHS, max_len=9) == [[], [], []]
    assert model.beam_search(SRC, LENGTHS, beam=2, max_len=9) == [[], [], []]


def test_padding_does_not_change_the_result():
    model = Seq2Seq(10, 12, 8, 16, attention="general", rng=1)
    alone = model.greedy(SRC[1:2, :2], LENGTHS[1:2], max_len=5)
    batched = model.greedy(SRC, LENGTHS, max_len=5)
    assert batched[1] == alone[0]


def test_encoder_state_initialises_decoder():
    model = Seq2Seq(10, 12, 8, 16, rng=2)  # plain: the encoder's final state is all the decoder sees
    a = model(SRC[:1], TGT[:1, :-1], LENGTHS[:1]).data
    b = model(np.array([[8, 7, 6, 5]]), TGT[:1, :-1]).data
    assert not np.allclose(a, b)


@pytest.mark.parametrize("attention", [None, "general", "additive"])
def test_backprop_through_the_whole_model_matches_finite_differences(attention):
    model = Seq2Seq(10, 7, 3, 4, attention=attention, rng=3).to(np.float64)
    src, lengths = SRC[:2, :3], np.array([3, 2])
    tgt = np.array([[2, 5, 6, 3], [2, 4, 3, 0]])
    model.zero_grad()
    model.loss(src, tgt, lengths).backward()
    rng = np.random.default_rng(0)
    for name, p in model.named_parameters():
        for flat in rng.choice(p.data.size, size=min(3, p.data.size), replace=False):
            i = np.unravel_index(flat, p.shape)
            old = p.data[i]
            p.data[i] = old + 1e-6
            up = model.loss(src, tgt, lengths).item()
            p.data[i] = old - 1e-6
            down = model.loss(src, tgt, lengths).item()
            p.data[i] = old
            numeric = (up - down) / 2e-6
            assert abs(p.grad[i] - numeric) <= 1e-6 + 1e-5 * abs(numeric), (name, i, p.grad[i], numeric)


def test_bad_inputs():
    with pytest.raises(ConfigError, match="attention must be None or one of dot, general, additive"):
        Seq2Seq(5, 5, attention="cosine")
    model = Seq2Seq(10, 12, 8, 16, rng=0)
    with pytest.raises(ShapeError, match=r"src must be \(N, S\) token ids"):
        model.greedy(np.array([1, 2, 3]))
    with pytest.raises(ShapeError, match=r"src_lengths must be \(N,\) == \(3,\) with values in \[1, 4\]"):
        model.greedy(SRC, np.array([4, 0, 3]))
    with pytest.raises(ConfigError, match="max_len must be an int >= 1, got 0"):
        model.greedy(SRC, max_len=0)
    with pytest.raises(ConfigError, match="beam must be an int >= 1, got 0"):
        model.beam_search(SRC, beam=0)


def test_dates_are_seeded_and_correct():
    s1, t1 = load_dates(50, rng=3)
    s2, t2 = load_dates(50, rng=3)
    assert (s1, t1) == (s2, t2)
    assert all(len(t) == 10 and t[4] == "-" and t[7] == "-" for t in t1)
    s, t = load_dates(1, rng=0, formats=("japanese",), start="1994-09-27", end="1994-09-27")
    assert s == ["1994年9月27日"] and t == ["1994-09-27"]
    s, _ = load_dates(1, rng=0, formats=("us_weekday",), start="1994-09-27", end="1994-09-27")
    assert s == ["Tuesday, September 27, 1994"]
    assert len(set(load_dates(500, rng=0)[0])) > 400 and len(DATE_FORMATS) == 10
    with pytest.raises(ConfigError, match="formats must be a non-empty subset"):
        load_dates(3, formats=("iso",))
    with pytest.raises(ConfigError, match="n must be an int >= 0"):
        load_dates(-1)


def test_dropout_leaves_the_initial_weights_unchanged_and_is_off_in_eval_and_decoding():
    plain, dropped = Seq2Seq(10, 12, 8, 16, attention="general", rng=4), \
        Seq2Seq(10, 12, 8, 16, attention="general", rng=4, dropout=0.5)
    for (name, a), (_, b) in zip(plain.named_parameters(), dropped.named_parameters()):
        assert np.array_equal(a.data, b.data), name
    train_loss = dropped.loss(SRC, TGT, LENGTHS).item()
    assert train_loss != plain.loss(SRC, TGT, LENGTHS).item()  # masks drawn in training mode
    dropped.eval()
    assert dropped.loss(SRC, TGT, LENGTHS).item() == plain.loss(SRC, TGT, LENGTHS).item()
    dropped.train()
    assert plain.greedy(SRC, LENGTHS, max_len=6) == dropped.greedy(SRC, LENGTHS, max_len=6)
    assert plain.beam_search(SRC, LENGTHS, beam=2, max_len=6) == dropped.beam_search(SRC, LENGTHS, beam=2, max_len=6)
    assert dropped.training  # the mode is restored after decoding


def test_dropout_masks_are_reproducible_from_the_seed():
    a, b = (Seq2Seq(10, 12, 8, 16, attention="dot", rng=5, dropout=0.3) for _ in range(2))
    assert a.loss(SRC, TGT, LENGTHS).item() == b.loss(SRC, TGT, LENGTHS).item()


def test_label_smoothing_loss_is_the_smoothed_cross_entropy_of_the_logits():
    model = Seq2Seq(10, 12, 8, 16, attention="general", rng=6).to(np.float64)
    logits = model(SRC, TGT[:, :-1], LENGTHS).data  # (N, T, V)
    labels = TGT[:, 1:]
    log_p = logits - logits.max(-1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))
    q = np.full(logits.shape, 0.1 / logits.shape[-1])
    np.put_along_axis(q, labels[..., None], 0.9 + 0.1 / logits.shape[-1], axis=-1)
    valid = labels != model.pad_id
    expected = -(q * log_p).sum(-1)[valid].mean()
    assert abs(model.loss(SRC, TGT, LENGTHS, label_smoothing=0.1).item() - expected) < 1e-12

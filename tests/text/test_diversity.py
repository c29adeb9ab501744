"""distinct-n, mean length, generic-response share and perplexity on hand-computed corpora."""

from __future__ import annotations

import math

import numpy as np
import pytest

from glassnet.errors import ConfigError
from glassnet.text import distinct_n, generic_response_share, mean_length, perplexity

CORPUS = [["i", "do", "not", "know"], ["i", "do", "not", "know"], ["sure", "thing"], ["i", "do"]]


def test_distinct_n_is_over_the_whole_corpus():
    # unigrams: 12 in all, distinct {i, do, not, know, sure, thing} = 6
    assert distinct_n(CORPUS, 1) == 6 / 12
    # bigrams: 3 + 3 + 1 + 1 = 8, distinct (i do) (do not) (not know) (sure thing) = 4
    assert distinct_n(CORPUS, 2) == 4 / 8
    # a per-sentence average would give 1.0 here: every sentence alone is all-distinct
    assert distinct_n([["hi", "there"]] * 5, 2) == 1 / 5


def test_distinct_n_short_responses_and_ids():
    assert distinct_n([["a"], ["b", "c"]], 2) == 1.0  # "a" has no bigram and adds nothing
    assert distinct_n([["a"], []], 2) == 0.0  # no n-gram at all: 0.0
    assert distinct_n([np.array([1, 2, 1]), [1, 2]], 2) == 2 / 3  # ids work (arrays as lists)


def test_mean_length():
    assert mean_length(CORPUS) == 12 / 4
    assert mean_length([[], ["a"]]) == 0.5


def test_generic_response_share_with_ties():
    assert generic_response_share(CORPUS, top=1) == 2 / 4
    # top 2: "i do not know" (2), then a tie of count 1: share is 3/4 whichever is picked
    assert generic_response_share(CORPUS, top=2) == 3 / 4
    assert generic_response_share(CORPUS, top=10) == 1.0  # at most 10 distinct responses
    unique = [[str(i)] for i in range(20)]
    assert generic_response_share(unique) == 10 / 20


def test_perplexity():
    assert perplexity(0.0, 5) == 1.0
    assert perplexity(10 * math.log(50.0), 10) == pytest.approx(50.0, rel=1e-12)
    assert perplexity(1e6, 1) == math.inf


@pytest.mark.parametrize("call, match", [
    (lambda: distinct_n([], 1), "empty"),
    (lambda: distinct_n(CORPUS, 0), "n must be"),
    (lambda: distinct_n(["hello there"], 1), "token list"),
    (lambda: distinct_n("hello", 1), "list of token lists"),
    (lambda: mean_length([]), "empty"),
    (lambda: generic_response_share(CORPUS, top=0), "top"),
    (lambda: perplexity(-1.0, 3), "total_nll_nats"),
    (lambda: perplexity(float("nan"), 3), "total_nll_nats"),
    (lambda: perplexity(1.0, 0), "n_tokens"),
    (lambda: perplexity(1.0, 2.5), "n_tokens"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ConfigError, match=match):
        call()

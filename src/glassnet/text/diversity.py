"""Metrics of generated dialogue responses: distinct-n, mean length, generic-response share, perplexity.

Responses are token sequences (lists of str, or of int ids): the metrics compare tokens by equality only.
A neural dialogue model trained by maximum likelihood favours safe, generic replies ("i don't know"); these
numbers measure that (Li et al. 2016, "A Diversity-Promoting Objective Function for Neural Conversation
Models", NAACL; Serban et al. 2017 report them for VHRED).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence

from glassnet.checks import check_int, check_number, check_size
from glassnet.errors import ConfigError

__all__ = ["distinct_n", "mean_length", "generic_response_share", "perplexity"]


def _check_responses(responses, who: str) -> list[tuple[Hashable, ...]]:
    """The responses as tuples; refuses a str (a corpus of characters, silently) and an empty corpus."""
    if isinstance(responses, str) or not isinstance(responses, Sequence):
        raise ConfigError(f"{who}: responses must be a list of token lists, got {type(responses).__name__}")
    if len(responses) == 0:
        raise ConfigError(f"{who}: responses is empty; there is nothing to measure")
    out = []
    for i, r in enumerate(responses):
        if isinstance(r, str) or not hasattr(r, "__iter__"):
            raise ConfigError(f"{who}: responses[{i}] must be a token list, got {type(r).__name__} ({r!r:.30}); "
                              "split it first, e.g. word_tokenize")
        out.append(tuple(r.tolist() if hasattr(r, "tolist") else r))
    return out


def distinct_n(responses: Sequence[Sequence[Hashable]], n: int) -> float:
    """distinct-n: the number of distinct n-grams divided by the total number of n-grams, over the whole corpus.

    ``distinct_n = |{n-grams of all responses}| / Σ_r max(0, len(r) - n + 1)``

    Computed over the whole corpus of generated responses, as Li et al. 2016 define it, not averaged per sentence:
    a single sentence rarely repeats an n-gram, so a per-sentence average is close to 1 even for a model that
    gives every context the same reply; the corpus ratio drops to near 0 for it.

    Args:
        responses: the generated responses, each a token list (str tokens or int ids).
        n: the n-gram order (1: unigrams, 2: bigrams).

    Returns:
        a float in [0, 1]. A response shorter than n has no n-gram and adds nothing; when no response has one
        (every response shorter than n), the result is 0.0 (no diversity observed), not an error.

    Raises:
        ConfigError: ``responses`` empty or not a list of token lists, ``n`` not an int >= 1.
    """
    n = check_size(n, "n", "distinct_n")
    grams = [r[i: i + n] for r in _check_responses(responses, "distinct_n") for i in range(len(r) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def mean_length(responses: Sequence[Sequence[Hashable]]) -> float:
    """The mean number of tokens per response (an empty response counts as 0).

    Raises:
        ConfigError: ``responses`` empty or not a list of token lists.
    """
    rs = _check_responses(responses, "mean_length")
    return sum(len(r) for r in rs) / len(rs)


def generic_response_share(responses: Sequence[Sequence[Hashable]], top: int = 10) -> float:
    """The share of responses equal to one of the ``top`` most frequent responses of the corpus.

    ``share = Σ_{s in top-k} count(s) / len(responses)``, where responses are equal when their token sequences
    are. A model that answers everything with a few generic replies scores near 1; when every response is
    different the share is ``top / len(responses)``, and it is 1.0 whenever there are at most ``top`` distinct
    responses.

    Ties: responses are ranked by decreasing count, and among equal counts by their first appearance in
    ``responses`` (a stable rule, never hash order). The share depends only on the counts of the responses picked,
    so a tie at the ``top``-th place cannot change it.

    Raises:
        ConfigError: ``responses`` empty or not a list of token lists, ``top`` not an int >= 1.
    """
    top = check_size(top, "top", "generic_response_share")
    rs = _check_responses(responses, "generic_response_share")
    counts = Counter(rs)  # keeps first-appearance order; most_common's sort is stable
    return sum(c for _, c in counts.most_common(top)) / len(rs)


def perplexity(total_nll_nats: float, n_tokens: int) -> float:
    """Perplexity ``exp(total_nll / n_tokens)``: e to the mean negative log-likelihood per token, in nats.

    Sum the NLL (``-log p``, natural log) of every target token over the corpus and count the tokens (``<eos>``
    included, padding excluded), then call this once: averaging per-batch perplexities would weight batches
    wrongly.

    Returns:
        a float >= 1; ``inf`` when the mean NLL is too large for exp (above ~709 nats).

    Raises:
        ConfigError: ``total_nll_nats`` negative or not finite, ``n_tokens`` not an int >= 1.
    """
    total = check_number(total_nll_nats, "total_nll_nats", "perplexity", min=0)
    n = check_int(n_tokens, "n_tokens", "perplexity", min=1)
    try:
        return math.exp(total / n)
    except OverflowError:
        return math.inf

"""Corpus BLEU (Papineni et al. 2002) by sacrebleu (Post 2018): the standard implementation, not ours."""

from __future__ import annotations

from collections.abc import Sequence

from glassnet.errors import ConfigError, DataError, ShapeError

__all__ = ["corpus_bleu"]


def corpus_bleu(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    """Corpus-level BLEU-4 on a 0-100 scale, one reference per hypothesis, for already tokenised text.

    The token lists are joined with spaces and scored with ``sacrebleu.corpus_bleu(..., tokenize="none")``
    (the tokens are the corpus's own, e.g. small_parallel_enja's; sacrebleu must not re-tokenise them),
    default smoothing ("exp").

    Raises:
        ShapeError: if the two lists differ in length.
        DataError: if they are empty.
        ConfigError: if a sentence is a str rather than a token list.
    """
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ShapeError(f"corpus_bleu: {len(hypotheses)} hypotheses but {len(references)} references")
    if not hypotheses:
        raise DataError("corpus_bleu: no sentences to score (empty hypotheses and references)")
    for arg, xs in (("hypotheses", hypotheses), ("references", references)):
        bad = next((i for i, x in enumerate(xs) if isinstance(x, str)), None)
        if bad is not None:  # " ".join of a str spaces out its characters: a character-level BLEU, silently
            raise ConfigError(f"corpus_bleu: {arg} must be token lists, {arg}[{bad}] is a str ({xs[bad][:30]!r})")
    hyp = [" ".join(h) for h in hypotheses]
    ref = [" ".join(r) for r in references]
    return float(sacrebleu.corpus_bleu(hyp, [ref], tokenize="none").score)

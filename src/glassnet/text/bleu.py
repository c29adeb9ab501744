"""Corpus BLEU (Papineni et al. 2002) by sacrebleu (Post 2018): the standard implementation, not ours."""

from __future__ import annotations

from collections.abc import Sequence

from glassnet.errors import ShapeError

__all__ = ["corpus_bleu"]


def corpus_bleu(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    """Corpus-level BLEU-4 on a 0-100 scale, one reference per hypothesis, for already tokenised text.

    The token lists are joined with spaces and scored with ``sacrebleu.corpus_bleu(..., tokenize="none")``
    (the tokens are the corpus's own, e.g. small_parallel_enja's; sacrebleu must not re-tokenise them),
    default smoothing ("exp").

    Raises:
        ShapeError: if the two lists differ in length.
    """
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ShapeError(f"corpus_bleu: {len(hypotheses)} hypotheses but {len(references)} references")
    hyp = [" ".join(h) for h in hypotheses]
    ref = [" ".join(r) for r in references]
    return float(sacrebleu.corpus_bleu(hyp, [ref], tokenize="none").score)

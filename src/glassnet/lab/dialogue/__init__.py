"""Dialogue: hierarchical encoder-decoders (HRED) against seq2seq, and VHRED's latent variable against generic replies.

The experiments here share :mod:`glassnet.lab.dialogue.common` (the SGD corpus, one training loop whose
every step goes through :func:`glassnet.train.step.train_step`, dev perplexity, generation, sample conversations).
"""

TOPIC = "Dialogue"

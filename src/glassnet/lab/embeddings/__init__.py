"""Word embeddings: word2vec (CBOW and skip-gram with negative sampling)."""

TOPIC = "Word embeddings"

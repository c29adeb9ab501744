"""Seq2seq and attention: encoder-decoders, attention against sequence length, translation."""

TOPIC = "Seq2seq and attention"

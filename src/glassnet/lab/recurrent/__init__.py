"""Recurrent networks: RNN, LSTM, GRU, BPTT, vanishing and exploding gradients, bidirectional layers."""

TOPIC = "Recurrent networks"

"""Convolutional networks: convolution against dense layers, depth, small filters, Inception, ResNet, dropout."""

TOPIC = "Convolutional networks"

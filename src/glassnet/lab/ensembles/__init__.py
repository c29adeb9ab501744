"""Ensembles (the Kaggle section): an average of models beats a single one, and diverse models ensemble better."""

TOPIC = "Ensembles"

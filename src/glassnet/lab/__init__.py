"""The lab: each experiment states one claim of the course, measures it, plots it and gives a verdict.

``glassnet lab`` lists them; ``glassnet lab NAME [--quick]`` runs one;
``glassnet report`` runs them all into one HTML page.
"""

from glassnet.lab.base import Experiment, Outcome, Result, RunContext, make_config, run_experiment
from glassnet.lab.registry import experiments, get_experiment

__all__ = [
    "Experiment", "Outcome", "Result", "RunContext", "make_config", "run_experiment", "experiments", "get_experiment",
]

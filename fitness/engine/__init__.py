"""The engine: the fitness-function interface, the context it runs in, the runner."""

from fitness.engine.context import CheckContext
from fitness.engine.fitness_function import (
    Findings,
    FitnessFunction,
    Kind,
    Result,
    SkipFitness,
    Status,
    Violation,
)
from fitness.engine.runner import run_fitness_functions

__all__ = [
    "CheckContext",
    "Findings",
    "FitnessFunction",
    "Kind",
    "Result",
    "SkipFitness",
    "Status",
    "Violation",
    "run_fitness_functions",
]

"""ASE calculators."""

from hermnet.calculators.ase_calculator import HermNetCalculator

__all__ = ["HermNetCalculator"]

"""Flexible production: test-and-reorder plans under MOQ, capacity and lead time, and policy simulation."""

from .policies import POLICIES, SimulationResult, launch_rates, plan, simulate

__all__ = ["plan", "simulate", "SimulationResult", "POLICIES", "launch_rates"]

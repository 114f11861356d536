"""Flexible production: test-and-reorder plans under MOQ/capacity, read from the stored forecasts, and policy replays."""

from .errors import MissingForecasts
from .policies import POLICIES, Outlook, Replay, SimulationResult, launch_rates, plan, simulate

__all__ = ["plan", "simulate", "Replay", "Outlook", "SimulationResult", "POLICIES", "launch_rates",
           "MissingForecasts"]

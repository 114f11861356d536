"""Flexible production: test-and-reorder plans under MOQ/capacity from the stored forecasts, and policy replays."""

from .errors import MissingForecasts
from .policies import POLICIES, Outlook, Replay, SimulationResult, launch_rates, plan, simulate

__all__ = [
    "POLICIES",
    "MissingForecasts",
    "Outlook",
    "Replay",
    "SimulationResult",
    "launch_rates",
    "plan",
    "simulate",
]

"""Flexible production: test-and-reorder plans under MOQ/capacity from the stored forecasts, policy replays, and
first batches of new designs from their launch forecasts."""

from .errors import MissingForecasts
from .inventory import read_inventory
from .launch import LaunchAnswer, launch, map_drafts, read_drafts
from .policies import (
    POLICIES,
    Outlook,
    Replay,
    SimulationResult,
    first_batches,
    launch_forecast,
    launch_rates,
    plan,
    simulate,
)

__all__ = [
    "POLICIES",
    "LaunchAnswer",
    "MissingForecasts",
    "Outlook",
    "Replay",
    "SimulationResult",
    "first_batches",
    "launch",
    "launch_forecast",
    "launch_rates",
    "map_drafts",
    "plan",
    "read_drafts",
    "read_inventory",
    "simulate",
]

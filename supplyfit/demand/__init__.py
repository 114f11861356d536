"""Demand: weekly panels, forecasts with quantiles, launch forecasts, hierarchy reconciliation, backtests, metrics."""

from .backtest import backtest
from .core import Forecaster
from .launch import LaunchForecaster
from .metrics import coverage, mase, pinball, rmsse, wrmsse
from .panel import demand_lines, weekly_panel

__all__ = [
    "Forecaster",
    "LaunchForecaster",
    "weekly_panel",
    "demand_lines",
    "backtest",
    "wrmsse",
    "rmsse",
    "mase",
    "pinball",
    "coverage",
]

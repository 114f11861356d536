"""Demand: weekly panels, forecasts with quantiles, hierarchy reconciliation, backtests and metrics."""

from .backtest import backtest
from .core import Forecaster
from .metrics import coverage, mase, pinball, rmsse, wrmsse
from .panel import weekly_panel

__all__ = ["Forecaster", "weekly_panel", "backtest", "wrmsse", "rmsse", "mase", "pinball", "coverage"]

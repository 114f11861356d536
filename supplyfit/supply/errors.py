"""Errors of the supply stage."""

from __future__ import annotations


class MissingForecasts(ValueError):
    """The demand stage's stored forecasts are missing or do not fit the plan; the message says what to run."""

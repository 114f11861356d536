"""supplyfit: a consumer-goods data middle platform — orders and reviews in; forecasts, plans and insights out."""

__version__ = "0.1.0"

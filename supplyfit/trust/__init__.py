"""Trust: product-information checks and merchant credit on the store."""

from .credit import credit_scores
from .verify import verify_catalog

__all__ = ["verify_catalog", "credit_scores"]

"""The platform service: REST API with per-tenant keys, and the web dashboard (``supplyfit serve``)."""

from .app import create_app
from .keys import ROLES, Caller, create_key, list_keys, revoke_key, verify

__all__ = ["ROLES", "Caller", "create_app", "create_key", "list_keys", "revoke_key", "verify"]

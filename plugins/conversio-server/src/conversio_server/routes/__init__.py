"""The native API under ``/v1`` and the operational endpoints (health, readiness, metrics)."""

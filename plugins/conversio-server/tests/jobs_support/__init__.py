"""Test-only plugins for the job tests (registered through the ``extra_plugins`` setting)."""

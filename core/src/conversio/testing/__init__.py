"""Test kit for conversio and its plugins: ``pip install 'conversio[testing]'`` (it needs pytest).

Registered as a pytest plugin (fixtures in :mod:`conversio.testing.pytest_plugin`).
Third-party plugins get the same checks the built-in ones pass by subclassing
:class:`ConverterContract`, third-party artifact stores by subclassing :class:`StoreContract`.
"""

try:
    import pytest  # noqa: F401  (the kit is made of pytest tests and fixtures)
except ImportError:
    raise ImportError(
        "conversio.testing needs pytest, which is not installed: pip install 'conversio[testing]'",
        name="pytest",
    ) from None

from conversio.testing.contract import ConverterContract
from conversio.testing.corpus import corpus_dir, corpus_files, corpus_manifest
from conversio.testing.factory import make_conversio
from conversio.testing.store_contract import StoreContract

__all__ = [
    "ConverterContract",
    "StoreContract",
    "corpus_dir",
    "corpus_files",
    "corpus_manifest",
    "make_conversio",
]

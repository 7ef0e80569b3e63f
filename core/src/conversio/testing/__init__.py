"""Test kit for conversio and its plugins.

Installed with the core and registered as a pytest plugin (fixtures in
:mod:`conversio.testing.pytest_plugin`). Third-party plugins get the same
checks the built-in ones pass by subclassing :class:`ConverterContract`.
"""

from conversio.testing.contract import ConverterContract
from conversio.testing.corpus import corpus_dir, corpus_files, corpus_manifest
from conversio.testing.factory import make_conversio

__all__ = ["ConverterContract", "corpus_dir", "corpus_files", "corpus_manifest", "make_conversio"]

"""The store contract (``conversio.testing.StoreContract``) against the S3 store: it passes exactly
what the built-in stores pass."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conversio_s3.store import S3Store

from conversio.testing import StoreContract


class TestS3StoreContract(StoreContract):
    @pytest.fixture
    def make_store(self, make_s3_store: Callable[..., S3Store]) -> Callable[..., S3Store]:
        return make_s3_store

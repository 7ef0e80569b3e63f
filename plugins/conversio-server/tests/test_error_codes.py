"""Every error code of the core has an HTTP status and a ConvertAPI number: none falls to 500 by omission."""

from __future__ import annotations

from conversio_server.convertapi.errors import CODE_NUMBERS
from conversio_server.errors import STATUS_BY_CODE

from conversio.errors import ERRORS_BY_CODE

#: Codes that are the server's fault (or its set-up's), not the request's.
SERVER_SIDE = {
    "PLUGIN_ERROR",
    "MISSING_DEPENDENCY",
    "INTERNAL_ERROR",
    "SERVICE_UNAVAILABLE",
    "INSUFFICIENT_STORAGE",
    "STORE_UNAVAILABLE",
}


def test_every_core_code_has_a_status_and_a_convertapi_number() -> None:
    missing_status = sorted(set(ERRORS_BY_CODE) - set(STATUS_BY_CODE))
    missing_number = sorted(set(ERRORS_BY_CODE) - set(CODE_NUMBERS))
    assert not missing_status, f"add these codes to STATUS_BY_CODE: {missing_status}"
    assert not missing_number, f"add these codes to CODE_NUMBERS: {missing_number}"


def test_statuses_and_numbers_agree() -> None:
    """A ConvertAPI number is its code's status times ten plus a variant; only server faults are 5xx."""
    for code, status in STATUS_BY_CODE.items():
        assert CODE_NUMBERS[code] // 10 == status, code
        assert (status >= 500) == (code in SERVER_SIDE), code
    assert len(set(CODE_NUMBERS.values())) == len(CODE_NUMBERS), "two codes share a ConvertAPI number"

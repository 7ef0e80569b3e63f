"""What S3 and the network say, in conversio's coded errors.

A missing object is ``FILE_NOT_FOUND``, as in every store. A store that cannot be used at all
(no answer from the endpoint, credentials missing or refused, no such bucket) is
``STORE_UNAVAILABLE``: the input is not at fault and the same request may work later. Messages
name neither the endpoint nor a key nor any credential; the cause is not chained (a botocore
message may quote the access key id).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from conversio.errors import ConversioError, StoreUnavailable
from conversio.stores.common import not_found

#: S3 error codes of an object or a key that is not there.
MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
#: S3 error codes of credentials that were refused.
REFUSED = frozenset(
    {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}
)


def unavailable(why: str) -> StoreUnavailable:
    return StoreUnavailable(f"the file store is unavailable: {why}; try again later")


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def translating(artifact_id: str | None = None) -> Iterator[None]:
    """Turn the S3 failures of the block into coded errors (a missing object: ``artifact_id``'s)."""
    try:
        yield
    except (BotoCoreError, ClientError, S3UploadFailedError) as error:
        raise translated(error, artifact_id) from None


def translated(error: Exception, artifact_id: str | None = None) -> ConversioError:
    """The coded error of an S3 failure (boto3's managed upload wraps the S3 one: unwrapped)."""
    if isinstance(error, S3UploadFailedError) and isinstance(error.__context__, BotoCoreError | ClientError):
        error = error.__context__
    if isinstance(error, ClientError):
        code = error_code(error)
        if code in MISSING and artifact_id is not None:
            return not_found(artifact_id)
        if code == "NoSuchBucket":
            return unavailable("its bucket does not exist")
        if code in REFUSED:
            return unavailable("its credentials were refused")
        return unavailable(f"it answered {code or 'with an error'}")
    if isinstance(error, NoCredentialsError):
        return unavailable("no credentials are set (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
    if isinstance(error, EndpointConnectionError):
        return unavailable("its endpoint did not answer")
    return unavailable(f"the request failed ({type(error).__name__})")

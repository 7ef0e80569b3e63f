"""A Python client for a conversio server (``pip install "conversio[client]"``).

    from conversio.client import Client

    with Client("http://127.0.0.1:8000", api_key="cv_…") as client:
        client.convert("report.docx", "pdf").save("report.pdf")
        job = client.create_job("talk.mov", "mp4", webhook="https://example.com/hooks")
        for output in client.wait(job, timeout=600).outputs:
            client.download(output, "out/")

:class:`AsyncClient` offers the same methods as coroutines. Requests that fail with 429 or 5xx (or lose
their connection when that is safe) are retried with backoff, honouring ``Retry-After``; other errors
raise a typed :class:`ApiError` carrying the server's code, message, HTTP status and request id.
Receivers of webhooks check them with :func:`verify_webhook`. Only httpx is needed, not the server.
"""

from conversio.client._protocol import JobSpec
from conversio.client.aio import AsyncBatch, AsyncClient
from conversio.client.errors import (
    ApiError,
    BadRequest,
    ClientError,
    Conflict,
    ConversionError,
    FileTooLarge,
    JobFailed,
    NotFound,
    QuotaExceeded,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    TransportError,
    Unauthorized,
    WaitTimeout,
)
from conversio.client.models import POLL_SCHEDULE, BatchInfo, FileId, FileResult, Input, Job, StoredFile, Url
from conversio.client.retry import RetryPolicy
from conversio.client.sync import Batch, Client
from conversio.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "POLL_SCHEDULE",
    "ApiError",
    "AsyncBatch",
    "AsyncClient",
    "BadRequest",
    "Batch",
    "BatchInfo",
    "Client",
    "ClientError",
    "Conflict",
    "ConversionError",
    "FileId",
    "FileResult",
    "FileTooLarge",
    "Input",
    "Job",
    "JobFailed",
    "JobSpec",
    "NotFound",
    "QuotaExceeded",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailable",
    "StoredFile",
    "TransportError",
    "Unauthorized",
    "Url",
    "WaitTimeout",
    "WebhookVerificationError",
    "verify_webhook",
]

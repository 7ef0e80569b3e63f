"""Where an ``s3://`` store is and how to talk to it: from its URL, then the standard AWS variables.

    s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=eu-west-1&path_style=1&ttl=86400

A setting in the URL wins over the environment: ``endpoint`` over ``AWS_ENDPOINT_URL_S3`` and
``AWS_ENDPOINT_URL``, ``region`` over ``AWS_REGION`` and ``AWS_DEFAULT_REGION``. Credentials are
never part of the URL (it is shown in logs and listings): boto3 finds them as it always does
(``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, the shared files, a role).
``public_endpoint`` is where the holders of presigned download links reach the store, when not at
``endpoint`` (a server on a private network, known outside by another name).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import attrs

from conversio.errors import InvalidOption
from conversio.stores.common import check_ttl

MiB = 1 << 20
#: Objects from this size on go up in parts of this size, several at once.
DEFAULT_PART_SIZE = 8 * MiB
#: S3 refuses parts smaller than this (but the last).
MIN_PART_SIZE = 5 * MiB

_PARAMETERS = ("endpoint", "public_endpoint", "region", "path_style", "ttl", "part_size")
_FALSE = ("0", "false", "no", "off")


def _default_ttl(ttl: float | None) -> float | None:
    return check_ttl(ttl, "default_ttl")


@attrs.frozen
class S3Settings:
    """One bucket and a key prefix in it, and how to reach them."""

    bucket: str
    prefix: str = ""
    endpoint: str | None = None
    region: str | None = None
    path_style: bool = False
    default_ttl: float | None = attrs.field(default=None, converter=_default_ttl)
    part_size: int = DEFAULT_PART_SIZE
    public_endpoint: str | None = None

    @classmethod
    def from_url(cls, url: str, environ: Mapping[str, str] | None = None) -> S3Settings:
        """Read ``s3://bucket[/prefix][?endpoint=&public_endpoint=&region=&path_style=&ttl=&part_size=]``."""
        env = os.environ if environ is None else environ
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise InvalidOption(f"an S3 store URL reads s3://bucket/prefix, not {url!r}", url=url)
        if "@" in parts.netloc:
            raise InvalidOption(
                "an S3 store URL holds no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(query) - set(_PARAMETERS))
        if unknown:
            raise InvalidOption(f"unknown store URL parameter(s): {', '.join(unknown)}", url=url)
        given = {name: values[-1] for name, values in query.items()}
        endpoint = given.get("endpoint") or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
        public_endpoint = given.get("public_endpoint")
        for address in (endpoint, public_endpoint):
            if address and urlsplit(address).scheme not in ("http", "https"):
                raise InvalidOption(f"an S3 endpoint must be an http(s) URL, not {address!r}", url=url)
        return cls(
            bucket=parts.netloc,
            prefix=parts.path.strip("/"),
            endpoint=endpoint or None,
            region=given.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            path_style=given.get("path_style", "0").lower() not in _FALSE,
            default_ttl=_number(given, "ttl", url),
            part_size=_part_size(_number(given, "part_size", url), url),
            public_endpoint=public_endpoint or None,
        )

    @property
    def url(self) -> str:
        """The URL that opens this very store again (with every setting it was given)."""
        params: dict[str, str] = {}
        if self.endpoint:
            params["endpoint"] = self.endpoint
        if self.public_endpoint:
            params["public_endpoint"] = self.public_endpoint
        if self.region:
            params["region"] = self.region
        if self.path_style:
            params["path_style"] = "1"
        if self.default_ttl is not None:
            params["ttl"] = f"{self.default_ttl:.15g}"
        if self.part_size != DEFAULT_PART_SIZE:
            params["part_size"] = str(self.part_size)
        location = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return location + ("?" + urlencode(params) if params else "")

    def client_config(self, public: bool = False) -> dict[str, Any]:
        """Keyword arguments of ``boto3.client("s3", ...)`` (credentials left to boto3); ``public``:
        of the client that signs links at ``public_endpoint``."""
        from botocore.config import Config

        config = Config(
            signature_version="s3v4",  # presigned links too (boto3 signs those with SigV2 otherwise)
            s3={"addressing_style": "path" if self.path_style else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=16,
        )
        endpoint = self.public_endpoint if public else self.endpoint
        return {"endpoint_url": endpoint, "region_name": self.region, "config": config}


def _number(given: dict[str, str], name: str, url: str) -> float | None:
    if name not in given:
        return None
    try:
        return float(given[name])
    except ValueError:
        raise InvalidOption(f"{name} must be a number in {url!r}", url=url, option=name) from None


def _part_size(value: float | None, url: str) -> int:
    if value is None:
        return DEFAULT_PART_SIZE
    if value < MIN_PART_SIZE or value != int(value):
        raise InvalidOption(f"part_size must be a whole number of bytes, at least {MIN_PART_SIZE}", url=url)
    return int(value)

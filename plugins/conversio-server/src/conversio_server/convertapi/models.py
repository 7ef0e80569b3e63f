"""The JSON shapes of the ConvertAPI routes (they make the OpenAPI document; the routes build the bodies)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ConvertApiErrorBody(BaseModel):
    """Every failure: ``Code`` is the HTTP status times ten plus a variant (4001: an invalid option)."""

    Code: int = Field(..., ge=1000, le=5999)
    Message: str
    InvalidParameters: dict[str, list[str]] | None = Field(
        None, description="The parameters to blame and their problems; null when none is."
    )


class ResultFile(BaseModel):
    """One result: stored (``FileId``, ``Url``) with ``StoreFile=true``, else inline (``FileData``)."""

    FileName: str
    FileExt: str
    FileSize: int
    FileId: str | None = None
    Url: str | None = Field(None, description="Signed download link of a stored result.")
    FileData: str | None = Field(None, description="The content, base64 (without StoreFile=true).")


class ConversionResult(BaseModel):
    ConversionCost: int
    Files: list[ResultFile]


class Uploaded(BaseModel):
    FileId: str
    FileName: str
    FileExt: str = Field(..., description="The sniffed format.")


class Account(BaseModel):
    """``GET /user``: the key's account."""

    Active: bool
    FullName: str | None
    ApiKey: str | None = Field(None, description="The key's id (never the secret).")
    Status: str
    Tier: str
    ConversionsTotal: int = Field(..., description="The tier's monthly conversions; 0 = unlimited.")
    ConversionsConsumed: int

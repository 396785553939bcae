"""The claimant portal's tables (sqlmodel): the per-claim access links and the documents a
claimant uploaded. Only the portal and the staff CLI touch these; nothing here crosses into a
workflow."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class PortalTokenRow(SQLModel, table=True):
    """A claim's page link. Only the sha256 of the token is kept: the database alone does not
    open any claim's page. `expires_at` is empty while the claim is open (the link then lasts
    until 90 days after the claim closes); a revoked link opens nothing."""

    __tablename__ = "portal_tokens"

    token_sha256: str = Field(primary_key=True)
    claim_id: str = Field(index=True)
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class PortalDocumentRow(SQLModel, table=True):
    """A document received for a claim, stored content-addressed under the data folder
    (`documents/<sha256[:2]>/<sha256>`). `name` is the uploaded file's name, sanitised and
    masked (no personal data); `kind` is the material kind it was sent as."""

    __tablename__ = "portal_documents"

    claim_id: str = Field(primary_key=True)
    sha256: str = Field(primary_key=True, index=True)
    # one file may serve as two documents (one scan of the invoices and the expense list)
    kind: str = Field(primary_key=True)
    size: int
    content_type: str
    name: str
    received_at: datetime

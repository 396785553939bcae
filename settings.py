"""One typed settings object, read from the environment, shared by the worker, CLI and tests."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, PrivateAttr
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.envconfig import ClientConfigProfile


class TemporalSettingsError(ValueError):
    """The Temporal connection settings cannot be used as given (one line)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # The connection (address, namespace, API key, TLS) comes from Temporal's own client
    # settings (temporalio.envconfig): a temporal.toml profile (TEMPORAL_CONFIG_FILE,
    # TEMPORAL_PROFILE) with TEMPORAL_* variables over it; see temporal_profile().
    temporal_address: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "temporal_address"),
        description="host:port of an existing Temporal server (or a temporal.toml profile's "
        "address); neither: the embedded one",
    )
    claims_namespace: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CLAIMS_NAMESPACE", "namespace"),
        description="the namespace when neither TEMPORAL_NAMESPACE nor the profile names one",
    )
    task_queue: str = Field(
        default="claims", validation_alias=AliasChoices("CLAIMS_TASK_QUEUE", "task_queue")
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CLAIMS_DATABASE_URL", "database_url"),
        description="SQLAlchemy URL of the read model; unset: SQLite in the data folder",
    )
    data_dir: Path = Field(
        default=Path("data"), validation_alias=AliasChoices("CLAIMS_DATA_DIR", "data_dir")
    )
    temporal_port: int = Field(
        default=7233, validation_alias=AliasChoices("CLAIMS_TEMPORAL_PORT", "temporal_port")
    )
    ui_port: int = Field(default=8233, validation_alias=AliasChoices("CLAIMS_UI_PORT", "ui_port"))
    http_port: int = Field(
        default=7243, validation_alias=AliasChoices("CLAIMS_HTTP_PORT", "http_port")
    )
    temporal_http: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CLAIMS_TEMPORAL_HTTP", "temporal_http"),
        description="Temporal's HTTP API, e.g. `https://temporal.insurer.internal:7243`, that "
        "staff decisions go over (commands/http_update.py); unset: http://127.0.0.1:<http "
        "port> for the embedded server, the SDK's gRPC for a named one",
    )
    portal_port: int = Field(
        default=8240, validation_alias=AliasChoices("CLAIMS_PORTAL_PORT", "portal_port")
    )
    portal_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CLAIMS_PORTAL_URL", "portal_url"),
        description="the claimant portal's public address, for the links staff hand out; "
        "unset: http://127.0.0.1:<portal port>",
    )
    # A workflow task runs its local activities (record writes, letters) before it completes:
    # with too many at once on a busy worker they miss the 10 s task timeout and run again.
    workflow_task_slots: int = Field(
        default=20,
        ge=1,
        validation_alias=AliasChoices("CLAIMS_WORKFLOW_TASK_SLOTS", "workflow_task_slots"),
        description="workflow tasks one worker runs at once",
    )
    # A case waits days for documents or a decision: keeping each one's state in memory saves
    # little (its next task replays a short history) and costs about 300 KB a case.
    cached_workflows: int = Field(
        default=500,
        ge=0,
        validation_alias=AliasChoices("CLAIMS_CACHED_WORKFLOWS", "cached_workflows"),
        description="cases one worker keeps in memory between their tasks (the rest replay "
        "their history when they next move)",
    )
    activity_slots: int = Field(
        default=32,
        ge=1,
        validation_alias=AliasChoices("CLAIMS_ACTIVITY_SLOTS", "activity_slots"),
        description="activities and, separately, local activities one worker runs at once",
    )
    payload_keys: str | None = Field(
        default=None,
        repr=False,
        validation_alias=AliasChoices("CLAIMS_PAYLOAD_KEYS", "payload_keys"),
        description="payload encryption keys `kid:base64key,...`; the first one encrypts",
    )
    payload_key_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("CLAIMS_PAYLOAD_KEY_FILE", "payload_key_file"),
        description="a file of `kid:base64key` lines; default `payload-keys` in the data folder",
    )
    payload_encryption: bool = Field(
        default=True,
        validation_alias=AliasChoices("CLAIMS_PAYLOAD_ENCRYPTION", "payload_encryption"),
        description="`off`: a worker without a payload key starts and writes payloads in clear "
        "(it says so); on (the default), a worker without a key refuses to start",
    )
    codec_port: int = Field(
        default=8234, validation_alias=AliasChoices("CLAIMS_CODEC_PORT", "codec_port")
    )
    codec_token: str | None = Field(
        default=None,
        repr=False,
        validation_alias=AliasChoices("CLAIMS_CODEC_TOKEN", "codec_token"),
        description="when set, the codec server asks for `Authorization: Bearer <token>`",
    )
    fault_rate: float = Field(
        default=0.0,
        ge=0.0,
        lt=1.0,
        validation_alias=AliasChoices("CLAIMS_FAULT_RATE", "fault_rate"),
        description="testing aid: the share of activity calls that fail and are retried",
    )
    fault_seed: int | None = Field(
        default=None,
        validation_alias=AliasChoices("CLAIMS_FAULT_SEED", "fault_seed"),
        description="testing aid: makes the injected faults repeatable",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("CLAIMS_METRICS_PORT", "metrics_port"),
        description="when set, the worker serves Prometheus metrics on this port (/metrics)",
    )
    otel_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "otel_endpoint"),
        description="when set, workflows and activities are traced to this OTLP/HTTP endpoint",
    )
    archive_folder: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("CLAIMS_ARCHIVE_DIR", "archive_folder"),
        description="where the nightly export writes closed cases' histories and the monthly "
        "complaint report; default `archive` in the data folder",
    )
    # Notices (notify/): SMS and post go to folders in the data folder
    smtp_url: str | None = Field(
        default=None,
        repr=False,  # it may carry a password
        validation_alias=AliasChoices("CLAIMS_SMTP_URL", "smtp_url"),
        description="email notices: `smtp://host:port` or `smtps://user:pass@host`; unset: "
        "no email, notices go by their next channel",
    )
    smtp_starttls: bool = Field(
        default=False, validation_alias=AliasChoices("CLAIMS_SMTP_STARTTLS", "smtp_starttls")
    )
    smtp_from: str = Field(
        default="claims@localhost", validation_alias=AliasChoices("CLAIMS_SMTP_FROM", "smtp_from")
    )

    _profile: ClientConfigProfile | None = PrivateAttr(default=None)

    def temporal_profile(self) -> ClientConfigProfile:
        """Temporal's client settings for this process, read once: the temporal.toml profile
        (TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE, else
        `default`) with TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and TEMPORAL_TLS_*
        over it."""
        if self._profile is None:
            config_file = os.environ.get("TEMPORAL_CONFIG_FILE")
            if config_file and not Path(config_file).exists():
                raise TemporalSettingsError(f"TEMPORAL_CONFIG_FILE {config_file}: no such file")
            try:
                self._profile = ClientConfigProfile.load()
            except Exception as err:  # the SDK's ConfigError: a bad file, an unknown profile
                raise TemporalSettingsError(f"Temporal client settings: {err}") from None
        return self._profile

    @property
    def embedded(self) -> bool:
        """True when no Temporal server was named, so the engine runs its own."""
        return not (self.temporal_address or self.temporal_profile().address)

    @property
    def address(self) -> str:
        return (
            self.temporal_address
            or self.temporal_profile().address
            or f"127.0.0.1:{self.temporal_port}"
        )

    @property
    def namespace(self) -> str:
        """TEMPORAL_NAMESPACE or the profile's namespace; else CLAIMS_NAMESPACE; else
        `default`."""
        return self.temporal_profile().namespace or self.claims_namespace or "default"

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'claims.db').resolve()}"

    @property
    def letters_dir(self) -> Path:
        return self.data_dir / "letters"

    @property
    def archive_dir(self) -> Path:
        """The archive (README "Archive"): one dated folder per nightly export."""
        return self.archive_folder or self.data_dir / "archive"

    @property
    def staff_keys_file(self) -> Path:
        """Staff signing secrets the CLI signs with (README "Signed decisions")."""
        return self.data_dir / "staff-keys.json"

    @property
    def staff_keys_dir(self) -> Path:
        """Staff Ed25519 private keys, `<staff id>.pem`, that the CLI signs with."""
        return self.data_dir / "keys"

    @property
    def key_file(self) -> Path:
        return self.payload_key_file or self.data_dir / "payload-keys"


@lru_cache
def get_settings() -> Settings:
    return Settings()

"""Settings of a calcwire process, read once from environment variables only.

Every variable, its default and its meaning is in the README's configuration
table (and in :data:`VARIABLES` below, which a test keeps in step with it).
A value that cannot be used stops the process at start-up with every problem
listed in one :class:`ConfigError`, never later in the middle of a request::

    settings = load_settings("import_svc")           # os.environ
    settings = load_settings("gateway", {"CALCWIRE_LISTEN": "0.0.0.0:6000"})
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, TypeVar, cast

__all__ = [
    "DEFAULT_LISTEN",
    "MIN_SECRET_LENGTH",
    "SERVICES",
    "VARIABLES",
    "ConfigError",
    "Role",
    "Settings",
    "load_settings",
]

Role = Literal["all", "server", "worker"]
Environment = Literal["development", "production"]

# Where each process listens unless CALCWIRE_LISTEN says otherwise.
DEFAULT_LISTEN: Final[Mapping[str, str]] = {
    "gateway": "0.0.0.0:50051",
    "import_svc": "127.0.0.1:50052",
    "eval_svc": "127.0.0.1:50053",
    "validation_svc": "127.0.0.1:50054",
}
SERVICES: Final[tuple[str, ...]] = tuple(DEFAULT_LISTEN)

# name -> default ("" for CALCWIRE_LISTEN: it depends on the service).
VARIABLES: Final[Mapping[str, str]] = {
    "CALCWIRE_ENV": "development",
    "CALCWIRE_LOG_LEVEL": "info",
    "CALCWIRE_LISTEN": "",
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/calcwire",
    "NATS_URL": "nats://127.0.0.1:4222",
    "CALCWIRE_DB_POOL_MIN": "1",
    "CALCWIRE_DB_POOL_MAX": "10",
    "CALCWIRE_IMPORT_TARGET": "127.0.0.1:50052",
    "CALCWIRE_EVAL_TARGET": "127.0.0.1:50053",
    "CALCWIRE_VALIDATION_TARGET": "127.0.0.1:50054",
    "CALCWIRE_SHUTDOWN_GRACE_SECONDS": "30",
    "CALCWIRE_HEALTH_INTERVAL_SECONDS": "2",
    "CALCWIRE_MAX_MESSAGE_BYTES": "8388608",
    "CALCWIRE_ROLE": "all",
    "CALCWIRE_MAX_UPLOAD_BYTES": "104857600",
    "CALCWIRE_JOB_RETENTION_DAYS": "30",
    "CALCWIRE_ACK_WAIT_SECONDS": "30",
    "CALCWIRE_INTERNAL_SECRET": "",
    "CALCWIRE_INTERNAL_TLS_CERT_FILE": "",
    "CALCWIRE_INTERNAL_TLS_KEY_FILE": "",
    "CALCWIRE_INTERNAL_TLS_CA_FILE": "",
    "CALCWIRE_TLS_CERT_FILE": "",
    "CALCWIRE_TLS_KEY_FILE": "",
    "CALCWIRE_API_KEY_CACHE_SECONDS": "5",
    "CALCWIRE_RATE_LIMIT_PER_SECOND": "50",
    "CALCWIRE_RATE_LIMIT_BURST": "100",
    "CALCWIRE_MAX_CONCURRENT_UPLOADS": "4",
    "CALCWIRE_EVAL_CACHE_MB": "1024",
}

#: The shortest internal secret accepted: it must not be guessable.
MIN_SECRET_LENGTH: Final = 16

_LOG_LEVELS = ("debug", "info", "warning", "error")
_NATS_SCHEMES = ("nats://", "tls://", "ws://", "wss://")
_PG_SCHEMES = ("postgresql://", "postgres://")

T = TypeVar("T")


class ConfigError(ValueError):
    """One or more environment variables have values calcwire cannot use."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a calcwire process reads from its environment."""

    service: str
    env: Environment
    log_level: str
    listen: str
    database_url: str
    nats_urls: tuple[str, ...]
    db_pool_min: int
    db_pool_max: int
    import_target: str
    eval_target: str
    validation_target: str
    shutdown_grace_seconds: float
    health_interval_seconds: float
    max_message_bytes: int
    role: Role
    max_upload_bytes: int = 100 << 20
    """Largest workbook UploadWorkbook accepts; enforced on the bytes as they arrive."""
    job_retention_days: float = 30.0
    """How long job rows and events are kept (PostgreSQL and the job events stream)."""
    ack_wait_seconds: float = 30.0
    """Work queue ack wait: a message whose worker stopped reporting is redelivered after it."""
    internal_secret: str = field(default="", repr=False)
    """Shared by the gateway and the backends; empty: backends trust any caller (development)."""
    internal_tls_cert_file: str = ""
    internal_tls_key_file: str = ""
    internal_tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""
    api_key_cache_seconds: float = 5.0
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 100
    max_concurrent_uploads: int = 4
    eval_cache_mb: int = 1024
    """eval_svc: memory budget of the compiled models Calculate keeps (0: keep none)."""

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def internal_tls(self) -> bool:
        """Whether the backends serve, and their callers connect with, mutual TLS."""
        return bool(self.internal_tls_cert_file)

    @property
    def public_tls(self) -> bool:
        """Whether the gateway's public port speaks TLS."""
        return bool(self.tls_cert_file)


def load_settings(service: str, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings of ``service`` (one of :data:`SERVICES`) from ``environ``.

    Raises :class:`ConfigError` listing every invalid variable at once.
    """
    if service not in DEFAULT_LISTEN:
        raise ValueError(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
    env = os.environ if environ is None else environ
    problems: list[str] = []

    def read(name: str, parse: Callable[[str, str], T], fallback: T) -> T:
        default = DEFAULT_LISTEN[service] if name == "CALCWIRE_LISTEN" else VARIABLES[name]
        raw = env.get(name, "").strip() or default
        try:
            return parse(name, raw)
        except ValueError as exc:
            problems.append(str(exc))
            return fallback

    settings = Settings(
        service=service,
        env=cast(
            Environment, read("CALCWIRE_ENV", _choice(("development", "production")), "development")
        ),
        log_level=read("CALCWIRE_LOG_LEVEL", _choice(_LOG_LEVELS), "info"),
        listen=read("CALCWIRE_LISTEN", _host_port, ""),
        database_url=read("DATABASE_URL", _url(_PG_SCHEMES), ""),
        nats_urls=read("NATS_URL", _url_list(_NATS_SCHEMES), ()),
        db_pool_min=read("CALCWIRE_DB_POOL_MIN", _integer(minimum=0), 1),
        db_pool_max=read("CALCWIRE_DB_POOL_MAX", _integer(minimum=1), 10),
        import_target=read("CALCWIRE_IMPORT_TARGET", _host_port, ""),
        eval_target=read("CALCWIRE_EVAL_TARGET", _host_port, ""),
        validation_target=read("CALCWIRE_VALIDATION_TARGET", _host_port, ""),
        shutdown_grace_seconds=read(
            "CALCWIRE_SHUTDOWN_GRACE_SECONDS", _seconds(zero_ok=True), 30.0
        ),
        health_interval_seconds=read(
            "CALCWIRE_HEALTH_INTERVAL_SECONDS", _seconds(zero_ok=False), 2.0
        ),
        max_message_bytes=read("CALCWIRE_MAX_MESSAGE_BYTES", _integer(minimum=1024), 8 << 20),
        role=cast(Role, read("CALCWIRE_ROLE", _choice(("all", "server", "worker")), "all")),
        max_upload_bytes=read("CALCWIRE_MAX_UPLOAD_BYTES", _integer(minimum=1), 100 << 20),
        job_retention_days=read(
            "CALCWIRE_JOB_RETENTION_DAYS", _seconds(zero_ok=False, unit="days"), 30.0
        ),
        ack_wait_seconds=read("CALCWIRE_ACK_WAIT_SECONDS", _seconds(zero_ok=False), 30.0),
        internal_secret=read("CALCWIRE_INTERNAL_SECRET", _secret, ""),
        internal_tls_cert_file=read("CALCWIRE_INTERNAL_TLS_CERT_FILE", _file, ""),
        internal_tls_key_file=read("CALCWIRE_INTERNAL_TLS_KEY_FILE", _file, ""),
        internal_tls_ca_file=read("CALCWIRE_INTERNAL_TLS_CA_FILE", _file, ""),
        tls_cert_file=read("CALCWIRE_TLS_CERT_FILE", _file, ""),
        tls_key_file=read("CALCWIRE_TLS_KEY_FILE", _file, ""),
        api_key_cache_seconds=read("CALCWIRE_API_KEY_CACHE_SECONDS", _seconds(zero_ok=True), 5.0),
        rate_limit_per_second=read(
            "CALCWIRE_RATE_LIMIT_PER_SECOND", _seconds(zero_ok=True, unit="calls per second"), 50.0
        ),
        rate_limit_burst=read("CALCWIRE_RATE_LIMIT_BURST", _integer(minimum=1), 100),
        max_concurrent_uploads=read("CALCWIRE_MAX_CONCURRENT_UPLOADS", _integer(minimum=1), 4),
        eval_cache_mb=read("CALCWIRE_EVAL_CACHE_MB", _integer(minimum=0), 1024),
    )
    if not problems and settings.db_pool_min > settings.db_pool_max:
        problems.append(
            f"CALCWIRE_DB_POOL_MIN ({settings.db_pool_min}) is larger than "
            f"CALCWIRE_DB_POOL_MAX ({settings.db_pool_max})"
        )
    problems.extend(_tls_problems(env))
    if settings.production and not env.get("CALCWIRE_INTERNAL_SECRET", "").strip():
        problems.append(
            "CALCWIRE_INTERNAL_SECRET is required in production: without it the backends "
            "would take any caller's word for its tenant"
        )
    if problems:
        raise ConfigError(problems)
    return settings


# Variables that only make sense together: all of them or none.
_TLS_GROUPS: Final = (
    ("CALCWIRE_TLS_CERT_FILE", "CALCWIRE_TLS_KEY_FILE"),
    (
        "CALCWIRE_INTERNAL_TLS_CERT_FILE",
        "CALCWIRE_INTERNAL_TLS_KEY_FILE",
        "CALCWIRE_INTERNAL_TLS_CA_FILE",
    ),
)


def _tls_problems(env: Mapping[str, str]) -> list[str]:
    problems = []
    for group in _TLS_GROUPS:
        given = [name for name in group if env.get(name, "").strip()]
        if given and len(given) != len(group):
            missing = [name for name in group if name not in given]
            problems.append(f"{', '.join(given)} set without {', '.join(missing)}: set all or none")
    return problems


def _secret(name: str, raw: str) -> str:
    if raw and len(raw) < MIN_SECRET_LENGTH:
        # Never echo a secret, even a bad one, into an error message or a log.
        raise ValueError(
            f"{name}: too short ({len(raw)} characters); use at least {MIN_SECRET_LENGTH} "
            "random characters, e.g. from `openssl rand -hex 32`"
        )
    return raw


def _file(name: str, raw: str) -> str:
    if raw and not Path(raw).is_file():
        raise ValueError(f"{name}={raw!r}: no such file")
    return raw


def _choice(allowed: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.lower()
        if value not in allowed:
            raise ValueError(f"{name}={raw!r}: expected one of {', '.join(allowed)}")
        return value

    return parse


def _integer(*, minimum: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"{name}={raw!r}: expected a whole number") from None
        if value < minimum:
            raise ValueError(f"{name}={raw!r}: must be at least {minimum}")
        return value

    return parse


def _seconds(*, zero_ok: bool, unit: str = "seconds") -> Callable[[str, str], float]:
    def parse(name: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{name}={raw!r}: expected a number of {unit}") from None
        if not math.isfinite(value):
            raise ValueError(f"{name}={raw!r}: expected a finite number of {unit}")
        if value < 0 or (value == 0 and not zero_ok):
            raise ValueError(
                f"{name}={raw!r}: must be {'zero or more' if zero_ok else 'more than zero'}"
            )
        return value

    return parse


def _host_port(name: str, raw: str) -> str:
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{name}={raw!r}: expected host:port, e.g. 127.0.0.1:50052")
    if host.startswith("[") != host.endswith("]"):
        raise ValueError(f"{name}={raw!r}: an IPv6 host must be in brackets, e.g. [::]:50051")
    return raw


def _url(schemes: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        if not raw.startswith(schemes) or len(raw) <= len(raw.split("//", 1)[0]) + 2:
            raise ValueError(f"{name}={raw!r}: expected a URL starting with {' or '.join(schemes)}")
        return raw

    return parse


def _url_list(schemes: tuple[str, ...]) -> Callable[[str, str], tuple[str, ...]]:
    one = _url(schemes)

    def parse(name: str, raw: str) -> tuple[str, ...]:
        urls = tuple(one(name, part.strip()) for part in raw.split(",") if part.strip())
        if not urls:
            raise ValueError(f"{name}={raw!r}: expected at least one URL")
        return urls

    return parse

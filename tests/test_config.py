"""Settings from environment variables: defaults, parsing, clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from calcwire.config import (
    DEFAULT_LISTEN,
    SERVICES,
    VARIABLES,
    ConfigError,
    Settings,
    load_settings,
)


class TestDefaults:
    def test_every_default_matches_platform_decisions(self) -> None:
        settings = load_settings("import_svc", {})
        assert settings == Settings(
            service="import_svc",
            env="development",
            log_level="info",
            listen="127.0.0.1:50052",
            database_url="postgresql://postgres@127.0.0.1:5432/calcwire",
            nats_urls=("nats://127.0.0.1:4222",),
            db_pool_min=1,
            db_pool_max=10,
            import_target="127.0.0.1:50052",
            eval_target="127.0.0.1:50053",
            validation_target="127.0.0.1:50054",
            shutdown_grace_seconds=30.0,
            health_interval_seconds=2.0,
            max_message_bytes=8388608,
            role="all",
            max_upload_bytes=104857600,
            job_retention_days=30.0,
            ack_wait_seconds=30.0,
            internal_secret="",
            internal_tls_cert_file="",
            internal_tls_key_file="",
            internal_tls_ca_file="",
            tls_cert_file="",
            tls_key_file="",
            api_key_cache_seconds=5.0,
            rate_limit_per_second=50.0,
            rate_limit_burst=100,
            max_concurrent_uploads=4,
        )

    @pytest.mark.parametrize("service", SERVICES)
    def test_listen_default_is_per_service(self, service: str) -> None:
        assert load_settings(service, {}).listen == DEFAULT_LISTEN[service]

    def test_gateway_listens_publicly_on_50051(self) -> None:
        assert load_settings("gateway", {}).listen == "0.0.0.0:50051"

    def test_settings_are_frozen(self) -> None:
        settings = load_settings("gateway", {})
        with pytest.raises(AttributeError):
            settings.listen = "x"  # type: ignore[misc]

    def test_unknown_service_is_a_programming_error(self) -> None:
        with pytest.raises(ValueError, match="unknown service"):
            load_settings("nope", {})


class TestParsing:
    def test_values_are_read_and_normalised(self) -> None:
        settings = load_settings(
            "eval_svc",
            {
                "CALCWIRE_ENV": "Production",
                "CALCWIRE_LOG_LEVEL": "DEBUG",
                "CALCWIRE_LISTEN": "[::]:6000",
                "NATS_URL": "nats://a:4222, nats://b:4222",
                "CALCWIRE_DB_POOL_MIN": "2",
                "CALCWIRE_DB_POOL_MAX": "4",
                "CALCWIRE_SHUTDOWN_GRACE_SECONDS": "0",
                "CALCWIRE_HEALTH_INTERVAL_SECONDS": "0.5",
                "CALCWIRE_ROLE": "worker",
                "CALCWIRE_INTERNAL_SECRET": "0123456789abcdef",
            },
        )
        assert settings.production
        assert settings.log_level == "debug"
        assert settings.listen == "[::]:6000"
        assert settings.nats_urls == ("nats://a:4222", "nats://b:4222")
        assert (settings.db_pool_min, settings.db_pool_max) == (2, 4)
        assert settings.shutdown_grace_seconds == 0.0
        assert settings.health_interval_seconds == 0.5
        assert settings.role == "worker"

    def test_empty_value_means_default(self) -> None:
        assert load_settings("gateway", {"CALCWIRE_LISTEN": "  "}).listen == "0.0.0.0:50051"


class TestErrors:
    @pytest.mark.parametrize(
        ("variable", "value", "message"),
        [
            ("CALCWIRE_ENV", "staging", "expected one of development, production"),
            ("CALCWIRE_LOG_LEVEL", "verbose", "expected one of debug"),
            ("CALCWIRE_LISTEN", "50051", "expected host:port"),
            ("CALCWIRE_LISTEN", "localhost:99999", "expected host:port"),
            ("CALCWIRE_EVAL_TARGET", "eval", "expected host:port"),
            ("DATABASE_URL", "mysql://x/y", "postgresql://"),
            ("NATS_URL", "http://nats:4222", "nats://"),
            ("NATS_URL", ",", "at least one URL"),
            ("CALCWIRE_DB_POOL_MAX", "0", "at least 1"),
            ("CALCWIRE_DB_POOL_MIN", "two", "whole number"),
            ("CALCWIRE_SHUTDOWN_GRACE_SECONDS", "-1", "zero or more"),
            ("CALCWIRE_HEALTH_INTERVAL_SECONDS", "0", "more than zero"),
            ("CALCWIRE_HEALTH_INTERVAL_SECONDS", "nan", "finite"),
            ("CALCWIRE_MAX_MESSAGE_BYTES", "12", "at least 1024"),
            ("CALCWIRE_ROLE", "both", "expected one of all, server, worker"),
            ("CALCWIRE_MAX_UPLOAD_BYTES", "0", "at least 1"),
            ("CALCWIRE_MAX_UPLOAD_BYTES", "100MB", "whole number"),
            ("CALCWIRE_JOB_RETENTION_DAYS", "0", "more than zero"),
            ("CALCWIRE_JOB_RETENTION_DAYS", "a month", "number of days"),
            ("CALCWIRE_ACK_WAIT_SECONDS", "-5", "more than zero"),
            ("CALCWIRE_INTERNAL_SECRET", "short", "too short (5 characters)"),
            ("CALCWIRE_TLS_CERT_FILE", "/no/such.pem", "no such file"),
            ("CALCWIRE_API_KEY_CACHE_SECONDS", "-1", "zero or more"),
            ("CALCWIRE_RATE_LIMIT_PER_SECOND", "fast", "number of calls per second"),
            ("CALCWIRE_RATE_LIMIT_BURST", "0", "at least 1"),
            ("CALCWIRE_MAX_CONCURRENT_UPLOADS", "0", "at least 1"),
        ],
    )
    def test_invalid_value_names_the_variable(
        self, variable: str, value: str, message: str
    ) -> None:
        with pytest.raises(ConfigError) as caught:
            load_settings("import_svc", {variable: value})
        assert variable in str(caught.value)
        assert message in str(caught.value)

    def test_all_problems_are_reported_at_once(self) -> None:
        with pytest.raises(ConfigError) as caught:
            load_settings(
                "import_svc",
                {"CALCWIRE_ENV": "x", "CALCWIRE_ROLE": "y", "CALCWIRE_DB_POOL_MAX": "z"},
            )
        assert len(caught.value.problems) == 3

    def test_pool_min_above_max(self) -> None:
        with pytest.raises(ConfigError, match="CALCWIRE_DB_POOL_MIN .* larger"):
            load_settings("import_svc", {"CALCWIRE_DB_POOL_MIN": "5", "CALCWIRE_DB_POOL_MAX": "2"})


class TestSecurity:
    def test_production_requires_the_internal_secret(self) -> None:
        with pytest.raises(ConfigError, match="CALCWIRE_INTERNAL_SECRET is required in production"):
            load_settings("import_svc", {"CALCWIRE_ENV": "production"})
        settings = load_settings(
            "import_svc", {"CALCWIRE_ENV": "production", "CALCWIRE_INTERNAL_SECRET": "s" * 32}
        )
        assert settings.internal_secret == "s" * 32

    def test_the_secret_is_never_shown(self) -> None:
        settings = load_settings("gateway", {"CALCWIRE_INTERNAL_SECRET": "hush-hush-hush-hush"})
        assert "hush" not in repr(settings)
        with pytest.raises(ConfigError) as caught:
            load_settings("gateway", {"CALCWIRE_INTERNAL_SECRET": "hush"})
        assert "hush" not in str(caught.value)

    def test_tls_files_come_together(self, tmp_path: Path) -> None:
        cert = tmp_path / "cert.pem"
        cert.write_text("x")
        with pytest.raises(
            ConfigError, match="CALCWIRE_TLS_CERT_FILE set without CALCWIRE_TLS_KEY"
        ):
            load_settings("gateway", {"CALCWIRE_TLS_CERT_FILE": str(cert)})
        with pytest.raises(ConfigError, match="without CALCWIRE_INTERNAL_TLS_KEY_FILE, CALCWIRE_"):
            load_settings("gateway", {"CALCWIRE_INTERNAL_TLS_CERT_FILE": str(cert)})
        both = load_settings(
            "gateway", {"CALCWIRE_TLS_CERT_FILE": str(cert), "CALCWIRE_TLS_KEY_FILE": str(cert)}
        )
        assert both.public_tls and not both.internal_tls


class TestReadme:
    def test_readme_lists_every_variable_with_its_default(self, repo_root: Path) -> None:
        readme = (repo_root / "README.md").read_text()
        rows = {
            m.group(1): m.group(2)
            for m in re.finditer(r"^\| `([A-Z_]+)` \| ([^|]*) \|", readme, re.MULTILINE)
        }
        for name, default in VARIABLES.items():
            assert name in rows, f"{name} missing from the README's configuration table"
            if default:
                assert f"`{default}`" in rows[name], f"README default of {name} is not {default}"

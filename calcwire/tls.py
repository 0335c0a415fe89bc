"""TLS credentials from the files the configuration names.

Two independent uses:

- the gateway's public port (``CALCWIRE_TLS_CERT_FILE``, ``CALCWIRE_TLS_KEY_FILE``):
  server-side TLS, clients verify the gateway and need no certificate;
- mutual TLS between calcwire's processes (``CALCWIRE_INTERNAL_TLS_CERT_FILE``,
  ``..._KEY_FILE``, ``..._CA_FILE``): each backend serves TLS and requires a
  client certificate signed by the CA; the gateway and the services calling
  one another present their certificate and verify the backend's against the
  same CA. The internal secret is still required on top: mTLS says the caller
  is one of calcwire's processes, the secret is what lets it name a tenant.

Files are read once, at start-up; a file that cannot be read stops the process.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from calcwire.config import Settings

__all__ = ["internal_channel_credentials", "server_credentials"]


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConnectionError(f"cannot read {path}: {exc.strerror or exc}") from exc


def server_credentials(settings: Settings, *, public: bool) -> grpc.ServerCredentials | None:
    """Credentials for the port a service listens on; None: plaintext.

    ``public`` is the gateway's port (TLS when configured); every other service
    is a backend (mutual TLS when configured).
    """
    if public:
        if not settings.public_tls:
            return None
        return grpc.ssl_server_credentials(
            [(_read(settings.tls_key_file), _read(settings.tls_cert_file))]
        )
    if not settings.internal_tls:
        return None
    return grpc.ssl_server_credentials(
        [(_read(settings.internal_tls_key_file), _read(settings.internal_tls_cert_file))],
        root_certificates=_read(settings.internal_tls_ca_file),
        require_client_auth=True,
    )


def internal_channel_credentials(settings: Settings) -> grpc.ChannelCredentials | None:
    """Credentials to call a backend with mutual TLS; None when it is not configured."""
    if not settings.internal_tls:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=_read(settings.internal_tls_ca_file),
        private_key=_read(settings.internal_tls_key_file),
        certificate_chain=_read(settings.internal_tls_cert_file),
    )

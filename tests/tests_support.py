"""Constants and helpers shared by the harness (conftest.py) and the tests."""

import uuid

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig

from calcwire.messaging import ensure_consumer, ensure_stream

TEST_MAX_UPLOAD_BYTES = 12 * 1024 * 1024

# Fast health checks and shutdown for services started by tests.
TEST_SERVICE_ENV = {
    "CALCWIRE_ENV": "development",
    "CALCWIRE_LOG_LEVEL": "info",
    "CALCWIRE_HEALTH_INTERVAL_SECONDS": "0.3",
    "CALCWIRE_SHUTDOWN_GRACE_SECONDS": "5",
    # Small enough that the over-the-limit upload test sends little.
    "CALCWIRE_MAX_UPLOAD_BYTES": str(TEST_MAX_UPLOAD_BYTES),
    # A revoked key stops working within a second at the harness's gateway.
    "CALCWIRE_API_KEY_CACHE_SECONDS": "1",
}


async def make_work_queue(js: JetStreamContext, prefix: str, *, ack_wait: float = 30.0) -> str:
    """A private work-queue stream (in memory) with one durable pull consumer ``w``."""
    stream = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await ensure_stream(
        js,
        StreamConfig(
            name=stream,
            subjects=[f"{stream}.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.MEMORY,
        ),
    )
    await ensure_consumer(
        js,
        stream,
        ConsumerConfig(
            name="w",
            durable_name="w",
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ack_wait,
            max_deliver=5,
        ),
    )
    return stream


Metadata = tuple[tuple[str, str], ...]


def bearer(api_key: str) -> Metadata:
    """Call metadata presenting ``api_key`` to the gateway."""
    return (("authorization", f"Bearer {api_key}"),)

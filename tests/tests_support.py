"""Constants shared by the harness (conftest.py) and the tests."""

# Fast health checks and shutdown for services started by tests.
TEST_SERVICE_ENV = {
    "CALCWIRE_ENV": "development",
    "CALCWIRE_LOG_LEVEL": "info",
    "CALCWIRE_HEALTH_INTERVAL_SECONDS": "0.3",
    "CALCWIRE_SHUTDOWN_GRACE_SECONDS": "5",
}

"""Logging: JSON lines in production, ids from the context on every line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from calcwire.logs import bind_ids, configure_logging, get_logger, log_context


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(service="test_svc", production=True, level="info", stream=stream)
    structlog.contextvars.clear_contextvars()
    yield stream
    structlog.contextvars.clear_contextvars()
    configure_logging(service="tests", production=False, level="info")


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class TestProductionFormat:
    def test_each_line_is_json_with_level_time_service(self, captured: io.StringIO) -> None:
        get_logger("calcwire.test").info("model imported", cells=12)
        (line,) = lines(captured)
        assert line["event"] == "model imported"
        assert line["cells"] == 12
        assert line["level"] == "info"
        assert line["service"] == "test_svc"
        assert line["logger"] == "calcwire.test"
        assert str(line["timestamp"]).endswith("Z")

    def test_stdlib_logging_comes_out_the_same_way(self, captured: io.StringIO) -> None:
        logging.getLogger("some.library").warning("disk %s is full", "sda")
        (line,) = lines(captured)
        assert line["event"] == "disk sda is full"
        assert line["level"] == "warning"
        assert line["service"] == "test_svc"

    def test_level_filters(self, captured: io.StringIO) -> None:
        get_logger("calcwire.test").debug("noise")
        assert captured.getvalue() == ""

    def test_exceptions_are_structured_not_free_text(self, captured: io.StringIO) -> None:
        try:
            raise ValueError("boom")
        except ValueError:
            get_logger("calcwire.test").exception("failed")
        (line,) = lines(captured)
        assert line["exception"][0]["exc_type"] == "ValueError"  # type: ignore[index]


class TestContext:
    def test_bound_ids_appear_on_every_line_of_the_block(self, captured: io.StringIO) -> None:
        log = get_logger("calcwire.test")
        with log_context(job_id="j1", model_id="m1", tenant=None):
            log.info("one")
            logging.getLogger("lib").info("two")
        log.info("three")
        one, two, three = lines(captured)
        assert (one["job_id"], one["model_id"]) == ("j1", "m1")
        assert two["job_id"] == "j1"
        assert "tenant" not in one
        assert "job_id" not in three

    async def test_ids_stay_with_their_task(self, captured: io.StringIO) -> None:
        log = get_logger("calcwire.test")

        async def request(request_id: str) -> None:
            bind_ids(request_id=request_id)
            await asyncio.sleep(0)
            log.info("handled")

        await asyncio.gather(request("a"), request("b"))
        assert sorted(str(line["request_id"]) for line in lines(captured)) == ["a", "b"]


class TestDevelopmentFormat:
    def test_console_lines_are_readable_not_json(self) -> None:
        stream = io.StringIO()
        configure_logging(service="dev_svc", production=False, level="info", stream=stream)
        try:
            get_logger("calcwire.test").info("hello", job_id="j9")
        finally:
            configure_logging(service="tests", production=False, level="info")
        text = stream.getvalue()
        assert "hello" in text and "job_id=j9" in text
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)

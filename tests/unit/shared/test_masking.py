"""No personal data reaches a log line."""

from __future__ import annotations

import io
import json
import logging

import structlog

from shared.logging import configure_logging, mask_personal_data, mask_text


def test_phone_numbers_and_emails_are_masked_inside_free_text() -> None:
    text = mask_text("call +86 138 0013 8000 or write to li.wei@example.com about ord_12345678")
    assert "138 0013" not in text and "li.wei" not in text
    assert "@example.com" in text and "ord_12345678" in text, "ids and domains stay readable"


def test_sensitive_fields_are_masked_at_any_depth() -> None:
    event = mask_personal_data(
        None,
        "info",
        {
            "event": "order placed",
            "order_id": "ord_1",
            "contact": {"phone": "+8613800138000", "email": "a@b.cn"},
            "payload": {"address": {"line1": "88 Nanjing Road", "city": "Shanghai"}},
        },
    )
    assert event["order_id"] == "ord_1"
    assert event["contact"] == "***"
    assert event["payload"]["address"] == "***"


def test_a_configured_json_log_line_carries_bound_ids_and_no_personal_data(capsys) -> None:
    configure_logging("order", fmt="json")
    log = structlog.get_logger()
    with structlog.contextvars.bound_contextvars(
        event_id="e1", order_id="ord_9", correlation_id="c1"
    ):
        log.info("payment failed", phone="+8613800138000", note="mail zhang.san@example.com")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (line["event_id"], line["order_id"], line["correlation_id"]) == ("e1", "ord_9", "c1")
    assert "13800138000" not in json.dumps(line) and "zhang.san" not in json.dumps(line)


def test_standard_library_loggers_are_masked_too() -> None:
    configure_logging("order", fmt="json")
    stream = io.StringIO()
    root = logging.getLogger()
    root.handlers[0].stream = stream  # type: ignore[attr-defined]
    logging.getLogger("aiokafka").warning("could not reach +86 138 0013 8000")
    assert "138 0013" not in stream.getvalue() and "could not reach" in stream.getvalue()


def test_numbers_that_are_not_phone_numbers_stay_readable() -> None:
    text = mask_text("handled in runtime=1.2345678954 s at offset 12345678")
    assert "1.2345678954" in text

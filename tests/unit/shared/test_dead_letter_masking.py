"""A dead letter leaves its service masked: the message's personal fields, and any phone or
email in its key, error and the actions' details."""

import json

from shared.dead_letters import masked


def test_the_message_key_error_and_actions_are_masked() -> None:
    message = {
        "type": "OrderPlaced",
        "payload": {
            "order_id": "ord_1",
            "contact": {"phone": "+8613800138000", "email": "li.wei@example.com"},
            "address": {"recipient": "Li Wei", "line1": "1 Nanjing Rd", "city": "Shanghai"},
        },
    }
    letter = {
        "id": 7,
        "key": "li.wei@example.com",
        "value": json.dumps(message),
        "error": "ValueError('no such customer +8613800138000')",
        "actions": [{"action": "discard", "detail": "customer li.wei@example.com asked"}],
    }
    out = masked(letter)
    text = json.dumps(out)
    for personal in ("li.wei@example.com", "+8613800138000", "Li Wei", "Nanjing"):
        assert personal not in text
    assert json.loads(out["value"])["payload"]["order_id"] == "ord_1"
    assert out["id"] == 7 and letter["key"] == "li.wei@example.com", "the original is kept"


def test_bytes_that_are_not_json_are_masked_as_text() -> None:
    out = masked({"value": "call +86 138 0013 8000 \xff", "key": None, "error": None})
    assert "138 0013 8000" not in out["value"] and out["key"] is None

"""structlog set-up: JSON in production, readable on a terminal, personal data masked.

Per message, bind `event_id`, `order_id` and `correlation_id` with
`structlog.contextvars.bound_contextvars`; never format them into the text.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SENSITIVE_KEYS = frozenset(
    {"phone", "email", "address", "contact", "recipient", "line1", "line2", "to", "password"}
)
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PHONE = re.compile(r"(?<![\w.-])(\+?\d[\d -]{5,}\d)(\d{2})(?![\w.-])")


def mask_text(text: str) -> str:
    """Masks emails and phone numbers found anywhere in a string."""
    text = _EMAIL.sub(r"\1***@\2", text)
    return _PHONE.sub(lambda m: "*" * len(m.group(1).replace(" ", "")) + m.group(2), text)


def mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_item(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value


def _mask_item(key: str, value: Any) -> Any:
    if key in SENSITIVE_KEYS and value is not None:
        if isinstance(value, str):
            return value[:1] + "***" if len(value) > 4 else "***"
        return "***"
    return mask_value(value)


def mask_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        event_dict[key] = _mask_item(key, value)
    return event_dict


def configure_logging(service: str, *, fmt: str = "console", level: str = "INFO") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_personal_data,
    ]
    structlog.configure(
        processors=[*shared_processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Route the standard library's loggers (faust, aiokafka, uvicorn) through the same masking.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared_processors,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def get_logger(module: str, **bindings: Any) -> Any:
    """The logger of a module, called with `__name__`. Its lines carry `component`: the
    module's path without the `services.` prefix (`order.handlers`, `shared.consumer`,
    `payment.providers.sandbox`), so one scheme names where a line comes from; the
    service's name is bound once per process (`service`)."""
    return structlog.get_logger(component=module.removeprefix("services."), **bindings)

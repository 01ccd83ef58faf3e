"""What the console shows, fetched through the services' ops APIs with the console's
operations key, the same calls `fulfil` makes (its library functions where it has them:
the funnel's scrape and summary, the order's gathering). A service that does not answer
makes its panel say so; the others still show. Everything shown is masked."""

from __future__ import annotations

import asyncio
from typing import Any, get_args

from fulfil.config import Config, OpsError
from fulfil.funnel import scrape, summarise
from fulfil.order import gather
from shared.logging import get_logger
from shared.masking import mask
from web.client import ApiProblem, Service, Services

PANEL_LIMIT = "50"
log = get_logger(__name__)


async def _panel(services: Services, service: Service, path: str, **params: str) -> Any:
    try:
        return mask(await services.call(service, "GET", path, services.ops(), params=params))
    except ApiProblem as problem:
        return {"error": f"{service}: {problem.detail}"}


async def funnel(services: Services) -> dict[str, Any]:
    """The live funnel and conversion from the services' /metrics (from the samples' own
    figures for the pages alone: web/console/samples.py)."""
    sampled = getattr(services, "sample_scrape", None)
    found = sampled() if sampled else await scrape({s: url for s, url in services.urls.items()})
    return summarise(found)


async def dashboard(services: Services) -> dict[str, Any]:
    status = [_panel(services, s, "/ops/status") for s in get_args(Service)]
    panels = await asyncio.gather(
        funnel(services),
        _panel(services, "order", "/ops/stuck", limit=PANEL_LIMIT),
        _panel(services, "returns", "/v1/ops/refund-requests", limit=PANEL_LIMIT),
        _panel(services, "logistics", "/v1/ops/low-stock", limit=PANEL_LIMIT),
        *status,
    )
    figures, stuck, refunds, low, *flows = panels
    return {
        "figures": figures,
        "stuck": stuck,
        "refunds": refunds,
        "low_stock": low,
        "flows": dict(zip(get_args(Service), flows, strict=True)),
    }


async def letters(services: Services, service: Service) -> Any:
    return await _panel(services, service, "/ops/dead-letters", status="pending")


async def search(services: Services, query: str) -> Any:
    return await _panel(services, "order", "/ops/orders", q=query, limit=PANEL_LIMIT)


async def order_view(services: Services, bootstrap: str, order_id: str) -> dict[str, Any]:
    """`fulfil order`'s gathering (every service's view, the events on every topic, the
    gaps), run apart from the event loop: it reads the topics with its own client."""
    config = Config(
        bootstrap, services.ops().token, "console", urls={s: u for s, u in services.urls.items()}
    )
    try:
        found = await asyncio.to_thread(gather, config, order_id)
    except OpsError as exc:
        return {"error": exc.message}
    except Exception as exc:  # the broker unreachable or refusing: the page says so
        log.warning("order view failed", order_id=order_id, error=repr(exc))
        return {"error": f"the order's events could not be read: {type(exc).__name__}"}
    return dict(mask(found))


async def act(
    services: Services, service: Service, path: str, actor: str, body: Any = None
) -> str | None:
    """An action (replay, approve, refuse) as the operator; None when done, else why not."""
    try:
        answer = await services.call(
            service, "POST", path, services.ops(), json=body, headers={"X-Ops-Actor": actor}
        )
    except ApiProblem as problem:
        return str(mask(problem.detail))
    if isinstance(answer, dict) and answer.get("outcome") == "failed":
        return str(mask(answer.get("error") or "the replay failed again"))
    return None

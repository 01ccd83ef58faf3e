"""The services' public HTTP APIs, as the pages call them: one client, typed by service.

Every call names its credential: the order's customer token (a bearer token that opens
that order only) or the operations key (the console). An answer the service refuses is an
`ApiProblem` carrying its RFC 9457 body; a service that cannot be reached is one too
(status 503), so a page says so rather than failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import httpx

from web.settings import WebSettings

Service = Literal["order", "payment", "logistics", "returns", "notify"]


class ApiProblem(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {body.get('code') or body.get('title')}")
        self.status = status
        self.body = body

    @property
    def code(self) -> str:
        return str(self.body.get("code") or self.body.get("title") or self.status)

    @property
    def detail(self) -> str:
        return str(self.body.get("detail") or self.code)


@dataclass(frozen=True)
class Credential:
    token: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Services:
    """The five APIs at the base URLs of the settings, over one connection pool."""

    def __init__(self, settings: WebSettings, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.urls: dict[Service, str] = {
            "order": settings.order_url,
            "payment": settings.payment_url,
            "logistics": settings.logistics_url,
            "returns": settings.returns_url,
            "notify": settings.notify_url,
        }
        self.http = http or httpx.AsyncClient(timeout=settings.api_timeout_seconds)

    def ops(self) -> Credential:
        return Credential(self.settings.ops_api_key.get_secret_value())

    async def call(
        self,
        service: Service,
        method: str,
        path: str,
        credential: Credential | None,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        correlation_id: str | None = None,
    ) -> Any:
        sent = {**(credential.headers() if credential else {}), **(headers or {})}
        if correlation_id:
            sent["X-Correlation-ID"] = correlation_id
        url = f"{self.urls[service].rstrip('/')}{path}"
        try:
            response = await self.http.request(method, url, json=json, params=params, headers=sent)
        except httpx.HTTPError as exc:
            raise ApiProblem(503, {"code": "unreachable", "detail": f"{service}: {exc!r}"}) from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"code": "error", "detail": response.text[:200]}
            raise ApiProblem(response.status_code, body if isinstance(body, dict) else {})
        return response.json() if response.content else {}

    async def ready(self) -> dict[str, Any]:
        """Each service's liveness, for the page's readiness."""
        checks: dict[str, Any] = {}
        for name, url in self.urls.items():
            try:
                answer = await self.http.get(f"{url.rstrip('/')}/healthz", timeout=3)
                checks[name] = {"ok": answer.status_code == 200}
            except httpx.HTTPError as exc:
                checks[name] = {"ok": False, "error": repr(exc)}
        return checks

    async def close(self) -> None:
        await self.http.aclose()

    # -- the customer's order (the order's token) ------------------------------------------

    async def order(
        self, order_id: str, token: Credential, lang: str | None, accept_language: str | None
    ) -> dict[str, Any]:
        params = {"lang": lang} if lang else None
        headers = {"Accept-Language": accept_language} if accept_language else None
        found: dict[str, Any] = await self.call(
            "order", "GET", f"/v1/orders/{order_id}", token, params=params, headers=headers
        )
        return found

    async def payment(self, order_id: str, token: Credential) -> dict[str, Any]:
        found: dict[str, Any] = await self.call(
            "payment", "GET", f"/v1/orders/{order_id}/payment", token
        )
        return found

    async def pay_again(self, order_id: str, token: Credential, method: str) -> dict[str, Any]:
        opened: dict[str, Any] = await self.call(
            "payment",
            "POST",
            f"/v1/orders/{order_id}/payment/retry",
            token,
            json={"method": method},
        )
        return opened

    async def cancel(self, order_id: str, token: Credential) -> dict[str, Any]:
        done: dict[str, Any] = await self.call(
            "order",
            "POST",
            f"/v1/orders/{order_id}/cancel",
            token,
            json={"reason": "customer_request"},
        )
        return done

    async def confirm_receipt(self, order_id: str, token: Credential) -> dict[str, Any]:
        done: dict[str, Any] = await self.call(
            "order", "POST", f"/v1/orders/{order_id}/confirm-receipt", token
        )
        return done

    async def choose_backorder(
        self, order_id: str, token: Credential, choice: str
    ) -> dict[str, Any]:
        done: dict[str, Any] = await self.call(
            "order",
            "POST",
            f"/v1/orders/{order_id}/backorder-choice",
            token,
            json={"choice": choice},
        )
        return done

    async def refund_requests(self, order_id: str, token: Credential) -> list[dict[str, Any]]:
        found = await self.call("returns", "GET", f"/v1/orders/{order_id}/refund-requests", token)
        requests: list[dict[str, Any]] = found.get("refund_requests", found.get("requests", []))
        return requests

    async def request_refund(
        self, order_id: str, token: Credential, body: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        made: dict[str, Any] = await self.call(
            "returns",
            "POST",
            f"/v1/orders/{order_id}/refund-requests",
            token,
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )
        return made

    async def unsubscribe(self, order_id: str, token: Credential) -> dict[str, Any]:
        done: dict[str, Any] = await self.call(
            "notify", "POST", f"/v1/orders/{order_id}/unsubscribe", token
        )
        return done

"""The demo catalogue: ten SKUs with names, variants, stock and thresholds.

    python -m services.logistics.catalogue --url http://127.0.0.1:8003 --key <ops key>

sets each SKU through the operations API (`PUT /v1/stock/{sku}`). In
development the service also stocks any catalogue SKU it does not know yet
when it starts (`LOGISTICS_DEMO_CATALOGUE`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from services.logistics.steps.stock import stock_missing
from shared.logging import get_logger

if TYPE_CHECKING:
    from services.logistics.deps import Deps
    from shared.unit import Service

FILE = Path(__file__).with_name("catalogue.json")
log = get_logger(__name__)


def items() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(FILE.read_text())
    return loaded


async def load_on_start(service: Service[Deps]) -> None:
    """Background task: stocks the demo catalogue once, at start, when enabled."""
    if not service.deps.settings.load_demo_catalogue:
        return
    async with service.unit() as unit:
        added = await stock_missing(unit, items())
    log.info("demo catalogue loaded", added=added)


def main() -> None:
    parser = argparse.ArgumentParser(description="Load the demo catalogue into logistics.")
    parser.add_argument("--url", default="http://127.0.0.1:8003")
    parser.add_argument("--key", required=True, help="the operations API key")
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {args.key}"}
    with httpx.Client(base_url=args.url, headers=headers, timeout=10) as client:
        for item in items():
            body = {k: item[k] for k in ("on_hand", "low_stock_threshold", "name", "variant")}
            response = client.put(f"/v1/stock/{item['sku']}", json=body)
            response.raise_for_status()
            print(f"{item['sku']}: {response.json()['available']} available")


if __name__ == "__main__":
    main()

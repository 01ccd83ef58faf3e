"""The couriers the platform ships with: their code, their name per locale, their tracking page.

Events name a courier by its code (`ShipmentShipped.courier == "sf"`); what a
customer reads is the name they know, in their language, and a link to follow
the parcel. This table is the one place both come from, for every service that
shows a courier (notify's messages, order's timeline). A code not in the table
(a courier added before its entry) is shown as given, without a link.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import quote

DEFAULT_LOCALE = "en"


@dataclass(frozen=True)
class Courier:
    code: str
    names: MappingProxyType[str, str]
    tracking_url_template: str  # "{tracking_number}" marks where the number goes

    def name(self, locale: str) -> str:
        return self.names.get(locale) or self.names[DEFAULT_LOCALE]

    def tracking_url(self, tracking_number: str) -> str:
        return self.tracking_url_template.format(tracking_number=quote(tracking_number, safe=""))


def _courier(code: str, zh_cn: str, zh_tw: str, en: str, url: str) -> Courier:
    names = MappingProxyType({"zh-CN": zh_cn, "zh-TW": zh_tw, "en": en})
    return Courier(code, names, url)


COURIERS: MappingProxyType[str, Courier] = MappingProxyType(
    {
        c.code: c
        for c in (
            _courier(
                "sf",
                "顺丰速运",
                "順豐速運",
                "SF Express",
                "https://www.sf-express.com/chn/sc/waybill/waybill-detail/{tracking_number}",
            ),
            _courier(
                "zto",
                "中通快递",
                "中通快遞",
                "ZTO Express",
                "https://www.zto.com/express/expressCheck.html?txtBill={tracking_number}",
            ),
            _courier(
                "yto",
                "圆通速递",
                "圓通速遞",
                "YTO Express",
                "https://www.yto.net.cn/express/tracking.html?waybillNo={tracking_number}",
            ),
        )
    }
)


def courier(code: str) -> Courier | None:
    return COURIERS.get(code.strip().casefold())


def courier_name(code: str, locale: str = DEFAULT_LOCALE) -> str:
    """The courier's name a customer of `locale` knows; an unknown code as given."""
    found = courier(code)
    return found.name(locale) if found else code


def tracking_url(code: str, tracking_number: str) -> str | None:
    """The courier's page following this parcel; None for a courier not in the table."""
    found = courier(code)
    return found.tracking_url(tracking_number) if found else None

"""The page's own words in the three languages the shop serves (zh-CN, zh-TW, en).

The order's sentences (timeline, checkpoints, courier names) come from the APIs in the
language asked for; these are only the page's labels, buttons and the refund rules.
"""

from __future__ import annotations

LANGUAGES = ("zh-CN", "zh-TW", "en")
DEFAULT = "en"
NAMES = {"zh-CN": "简体中文", "zh-TW": "繁體中文", "en": "English"}

# key -> (zh-CN, zh-TW, en)
_T: dict[str, tuple[str, str, str]] = {
    "title": ("订单 {order}", "訂單 {order}", "Order {order}"),
    "language": ("语言", "語言", "Language"),
    "status": ("状态", "狀態", "Status"),
    "timeline": ("订单进度", "訂單進度", "Timeline"),
    "items": ("商品", "商品", "Items"),
    "quantity": ("数量", "數量", "Qty"),
    "total": ("订单总额", "訂單總額", "Total"),
    "paid": ("已付款", "已付款", "Paid"),
    "refunded": ("已退款", "已退款", "Refunded"),
    "due": ("待付款", "待付款", "To pay"),
    "promised": ("承诺发货日期", "承諾出貨日期", "Ships by"),
    "new_date": ("新的预计送达日期", "新的預計送達日期", "Now expected by"),
    "parcel": ("包裹", "包裹", "Parcel"),
    "courier": ("快递公司", "物流公司", "Courier"),
    "tracking_number": ("运单号", "追蹤編號", "Tracking number"),
    "track": ("在快递公司网站查看", "在物流公司網站查看", "Track on the courier's site"),
    "checkpoints": ("物流详情", "物流詳情", "Checkpoints"),
    "no_checkpoints": ("暂无物流信息", "暫無物流資訊", "No checkpoints yet"),
    "address": ("收货地址", "收件地址", "Delivery address"),
    "refunds": ("退款申请", "退款申請", "Refund requests"),
    "no_refunds": ("没有退款申请", "沒有退款申請", "No refund requests"),
    "actions": ("操作", "操作", "What you can do"),
    "pay": ("去付款", "去付款", "Pay now"),
    "pay_method": ("付款方式", "付款方式", "Payment method"),
    "cancel": ("取消订单", "取消訂單", "Cancel the order"),
    "cancel_hint": (
        "发货前可以取消；已付款项将原路退回。",
        "出貨前可以取消；已付款項將原路退回。",
        "You can cancel until the parcel ships; what you paid is refunded.",
    ),
    "confirm": ("确认收货", "確認收貨", "Confirm receipt"),
    "refund": ("申请退款/退货", "申請退款/退貨", "Request a refund or return"),
    "reason": ("原因", "原因", "Reason"),
    "send": ("提交", "提交", "Send"),
    "unsubscribe": ("不再接收推广消息", "不再接收推廣訊息", "Stop non-essential messages"),
    "unsubscribe_hint": (
        "您仍会收到付款、发货和退款等必要通知。",
        "您仍會收到付款、出貨和退款等必要通知。",
        "You will still be told about payment, shipping and refunds.",
    ),
    "rules": ("退款规则", "退款規則", "How refunds work"),
    "flow_unshipped": (
        "未发货：立即退款，订单停止发货。",
        "未出貨：立即退款，訂單停止出貨。",
        "Not shipped yet: refunded at once, and the parcel is not sent.",
    ),
    "flow_no_return": (
        "已发货但未收到（丢失、未送达）：无需退货，直接退款。",
        "已出貨但未收到（遺失、未送達）：無需退貨，直接退款。",
        "Shipped but never arrived (lost, not received): refunded without a return.",
    ),
    "flow_return": (
        "已收货：寄回商品并填写退货运单号，我们收到后退款。签收后7天内可无理由退货，"
        "运费由您承担；质量问题随时可退，运费由我们承担。",
        "已收貨：寄回商品並填寫退貨追蹤編號，我們收到後退款。簽收後7天內可無理由退貨，"
        "運費由您負擔；品質問題隨時可退，運費由我們負擔。",
        "Received: send the goods back with a return tracking number; the refund is paid "
        "when they arrive. Within 7 days of delivery you may return for any reason (you pay "
        "the postage); a quality problem qualifies at any time (we pay it).",
    ),
    "reason_changed_mind": ("不想要了", "不想要了", "I changed my mind"),
    "reason_not_received": ("没有收到", "沒有收到", "It never arrived"),
    "reason_lost": ("包裹丢失", "包裹遺失", "The parcel was lost"),
    "reason_damaged": ("商品损坏", "商品損壞", "It arrived damaged"),
    "reason_wrong_item": ("发错商品", "寄錯商品", "Wrong item"),
    "reason_quality_problem": ("质量问题", "品質問題", "Quality problem"),
    "reason_price_dropped": ("价格下降", "價格下降", "The price dropped"),
    "done_cancel": ("订单已取消。", "訂單已取消。", "Your order is cancelled."),
    "done_confirm": ("已确认收货，谢谢！", "已確認收貨，謝謝！", "Receipt confirmed, thank you!"),
    "done_refund": ("退款申请已提交。", "退款申請已提交。", "Your refund request is sent."),
    "done_unsubscribe": (
        "已退订推广消息。",
        "已取消訂閱推廣訊息。",
        "You will get no more non-essential messages.",
    ),
    "refused": (
        "操作未完成：{detail}",
        "操作未完成：{detail}",
        "That did not go through: {detail}",
    ),
    "expired_form": (
        "页面已过期，请重试。",
        "頁面已過期，請重試。",
        "This page had expired; please try again.",
    ),
    "not_found": ("找不到这个订单", "找不到這個訂單", "We cannot find this order"),
    "bad_link": (
        "此链接无法打开这个订单。请使用消息中的链接。",
        "此連結無法打開這個訂單。請使用訊息中的連結。",
        "This link does not open this order. Please use the link in your message.",
    ),
    "unavailable": (
        "暂时无法显示订单，请稍后再试。",
        "暫時無法顯示訂單，請稍後再試。",
        "We cannot show your order right now; please try again shortly.",
    ),
    "home": (
        "请打开订单消息中的链接查看订单。",
        "請打開訂單訊息中的連結查看訂單。",
        "Open the link in your order's messages to see your order.",
    ),
}

STATUSES: dict[str, tuple[str, str, str]] = {
    "placed": ("待付款", "待付款", "Waiting for payment"),
    "paid": ("已付款，待发货", "已付款，待出貨", "Paid, being prepared"),
    "shipped": ("已发货", "已出貨", "Shipped"),
    "delivered": ("已送达", "已送達", "Delivered"),
    "completed": ("已完成", "已完成", "Completed"),
    "cancellation_requested": ("取消中", "取消中", "Being cancelled"),
    "cancelled": ("已取消", "已取消", "Cancelled"),
    "closed": ("已关闭", "已關閉", "Closed"),
    "refund_open": ("退款处理中", "退款處理中", "Refund in progress"),
}


REFUND_STATUSES: dict[str, tuple[str, str, str]] = {
    "requested": ("已申请，待处理", "已申請，待處理", "Requested, being reviewed"),
    "return_shipped": ("退货已寄出", "退貨已寄出", "Return on its way"),
    "approved": ("已同意，退款中", "已同意，退款中", "Approved, being refunded"),
    "refunded": ("已退款", "已退款", "Refunded"),
    "rejected": ("已拒绝", "已拒絕", "Declined"),
    "refund_failed": ("退款延迟，正在重试", "退款延遲，正在重試", "Refund delayed, retrying"),
}


def language(asked: str | None, accept_language: str | None, order_locale: str | None) -> str:
    """The page's language: `?lang=` when it is one of ours, else the order's, else the
    browser's first of ours, else English."""
    if asked in LANGUAGES:
        return asked
    if order_locale in LANGUAGES:
        return order_locale
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip()
        for lang in LANGUAGES:
            if tag.lower() == lang.lower():
                return lang
        if tag.lower().startswith("zh"):
            return "zh-TW" if tag.lower() in ("zh-hk", "zh-mo", "zh-hant") else "zh-CN"
    return DEFAULT


def _pick(row: tuple[str, str, str], lang: str) -> str:
    return row[LANGUAGES.index(lang) if lang in LANGUAGES else 2]


def text(lang: str, key: str, **values: object) -> str:
    row = _T.get(key)
    if row is None:  # a reason code the page has no words for is left unsaid
        return "" if key.startswith("reason_") else key
    return _pick(row, lang).format(**values)


def refund_status(lang: str, code: str) -> str:
    row = REFUND_STATUSES.get(code)
    return _pick(row, lang) if row else code.replace("_", " ")


def status(lang: str, code: str) -> str:
    row = STATUSES.get(code)
    return _pick(row, lang) if row else code.replace("_", " ")

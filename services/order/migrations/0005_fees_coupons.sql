-- The order's money beyond its goods: total_amount = goods - discount_amount + shipping_fee.
-- Orders placed before fees existed read as no fee and no discount.
ALTER TABLE orders
    ADD COLUMN shipping_fee     BIGINT NOT NULL DEFAULT 0 CHECK (shipping_fee >= 0),
    ADD COLUMN discount_amount  BIGINT NOT NULL DEFAULT 0 CHECK (discount_amount >= 0),
    ADD COLUMN coupon_code      TEXT;

-- Coupons the shop issues (operations API, `fulfil coupons`). `used` counts the orders that
-- redeemed it; a placement takes a use with one guarded UPDATE, so parallel placements
-- never use a coupon beyond its limit.
CREATE TABLE coupons (
    code         TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('fixed', 'percent')),
    value        BIGINT NOT NULL CHECK (value > 0),
    currency     TEXT,
    min_spend    BIGINT NOT NULL DEFAULT 0 CHECK (min_spend >= 0),
    valid_from   TIMESTAMPTZ,
    valid_until  TIMESTAMPTZ,
    usage_limit  INT CHECK (usage_limit IS NULL OR usage_limit >= 1),
    used         INT NOT NULL DEFAULT 0 CHECK (used >= 0),
    expired_at   TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL,
    CHECK (kind <> 'percent' OR value <= 100),
    CHECK (kind <> 'fixed' OR currency IS NOT NULL),
    CHECK (usage_limit IS NULL OR used <= usage_limit)
);

-- Which order used which coupon: once per order.
CREATE TABLE coupon_redemptions (
    order_id     TEXT PRIMARY KEY REFERENCES orders (order_id),
    code         TEXT NOT NULL REFERENCES coupons (code),
    discount     BIGINT NOT NULL CHECK (discount >= 0),
    redeemed_at  TIMESTAMPTZ NOT NULL
);

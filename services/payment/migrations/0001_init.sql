-- The payment service's own tables start here.
SELECT 1;

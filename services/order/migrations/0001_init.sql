-- The order service's own tables start here.
SELECT 1;

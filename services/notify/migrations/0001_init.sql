-- The notify service's own tables start here.
SELECT 1;

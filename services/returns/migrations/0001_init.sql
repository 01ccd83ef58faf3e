-- The returns service's own tables start here.
SELECT 1;

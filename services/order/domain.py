"""The order service's business rules: pure functions and values, no I/O."""

"""SQL of the order service: the only module that knows its tables."""

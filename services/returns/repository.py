"""SQL of the returns service: the only module that knows its tables."""

"""SQL of the notify service: the only module that knows its tables."""

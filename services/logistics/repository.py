"""SQL of the logistics service: the only module that knows its tables."""

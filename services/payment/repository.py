"""SQL of the payment service: the only module that knows its tables."""

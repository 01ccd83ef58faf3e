"""The order service: the order API the shop frontend calls; the order's state and timeline."""

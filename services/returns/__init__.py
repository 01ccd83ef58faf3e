"""The returns service: refund and return requests and their three flows."""

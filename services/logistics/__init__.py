"""The logistics service: stock reservation, shipping, courier tracking, delivery."""

"""Kafka plumbing: topic administration and the faust consumer wiring."""

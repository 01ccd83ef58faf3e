"""Deployment tooling: the local stack (broker, database) and container files."""

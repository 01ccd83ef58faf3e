"""Code shared by the five services: contracts and plumbing. Never imports a service."""

"""Run the platform's infrastructure on this machine without Docker.

- ``deploy.local.kafka``: a KRaft Kafka cluster (1 or 3 nodes) from Maven Central jars.
- ``deploy.local.postgres``: a PostgreSQL server from the Debian packages.
- ``deploy.local.ports``: small socket helpers shared by both.
"""

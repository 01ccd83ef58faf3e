# One image for all five services; each compose service picks its own with
# `command: python -m services.<name>`. Build from the repository root.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY fulfil ./fulfil
# The development sinks the compose stack runs (deploy/local/sinks.py).
COPY deploy ./deploy
RUN pip install . \
    && useradd --system --uid 10001 --create-home --home-dir /var/lib/fulfil fulfil

# The stream library keeps a small `<app>-data` directory in the working directory.
WORKDIR /var/lib/fulfil
USER fulfil
EXPOSE 8080

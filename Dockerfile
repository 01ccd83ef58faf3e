# One image for all five services: `python -m services.<name>` picks the service,
# `python -m services.<name> migrate` only applies its migrations. Build from the
# repository root:  docker build -t fulfil-services:0.1.0 .
#
# Only the runtime dependencies, at the versions and hashes of requirements.lock
# (`uv pip compile pyproject.toml ... -o requirements.lock`); no dev or bench extras.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# The project as a wheel; the build tools stay in this stage.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY fulfil ./fulfil
# The web pages (`python -m web`), a client of the services' APIs.
COPY web ./web
# The development sinks the compose stack runs (deploy/local/sinks.py).
COPY deploy ./deploy
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-deps --require-hashes -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels \
    && groupadd --system --gid 10001 fulfil \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /var/lib/fulfil fulfil

# The stream library keeps a small `<app>-data` directory in the working directory.
WORKDIR /var/lib/fulfil
# Numeric, so that a cluster can check it is not root (runAsNonRoot).
USER 10001:10001
EXPOSE 8080

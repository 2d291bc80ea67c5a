# Image of the API and the workers (production shape, see compose.yaml). Not built on the
# development machines or in CI (no Docker engine there): tests/production/test_production_shape.py
# installs the same wheel into a fresh virtual environment and runs the services' commands as a
# non-root user from a read-only folder.

# 1. The wheel, without the `embedded` extra: the image is given DATABASE_URL and
#    KAFKA_BOOTSTRAP_SERVERS and starts no PostgreSQL or broker of its own.
FROM python:3.11.13-slim-bookworm AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api api
COPY application application
COPY adapters adapters
COPY domain domain
COPY projections projections
COPY consumers consumers
COPY runtime runtime
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# 2. The runtime: the package and its dependencies, a user of its own.
FROM python:3.11.13-slim-bookworm
COPY --from=wheel /dist /tmp/dist
RUN pip install --no-cache-dir /tmp/dist/*.whl \
    && rm -rf /tmp/dist \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/leadimport \
        --shell /usr/sbin/nologin leadimport \
    && install -d -o leadimport -g leadimport -m 0700 /home/leadimport/data /home/leadimport/data/tmp
# The data folder is the only place the processes may write: uploads over 1 MB are spooled to
# TMPDIR while a request reads them. With DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS set nothing
# else is written (LEADIMPORT_DATA_DIR would hold an embedded PostgreSQL, which this image lacks).
ENV LEADIMPORT_DATA_DIR=/home/leadimport/data \
    TMPDIR=/home/leadimport/data/tmp \
    HOST=0.0.0.0 \
    PORT=8000 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
WORKDIR /home/leadimport
EXPOSE 8000
# For the API (the default command): ready when it answers and reaches PostgreSQL and Kafka.
# compose.yaml turns it off for the workers, which serve no HTTP.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('PORT', '8000'), timeout=4)"]
ENTRYPOINT ["leadimport"]
CMD ["api"]

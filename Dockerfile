# Image for the API and the workers (production shape, see compose.yaml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api api
COPY application application
COPY adapters adapters
COPY domain domain
COPY projections projections
COPY consumers consumers
COPY runtime runtime
RUN pip install --no-cache-dir .
USER nobody
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
ENTRYPOINT ["leadimport"]

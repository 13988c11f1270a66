FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md run.py ./
COPY aggregator ./aggregator
RUN pip install --no-cache-dir .
COPY config ./config
RUN useradd --system --home /app aggregator && mkdir -p /app/var && chown aggregator /app/var
USER aggregator
EXPOSE 8080
CMD ["aggregator", "run"]

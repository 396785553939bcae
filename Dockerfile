# The claims worker: stateless; run as many as the load needs against one task queue.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY . .
RUN pip install --no-cache-dir -e . && python -m compileall -q /app
# Letters are written under the data folder; mount it to keep them.
VOLUME ["/data"]
CMD ["python", "worker.py"]

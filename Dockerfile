# One image for every LAPOR service; docker-compose.yml picks the service with `command`:
#   nameko run --config services/<name>/config.yaml services.<name>.service
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

WORKDIR /app

# Dependencies before the code, so a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY services/ services/
# The one-shot `topology` job (python -m devstack.topology) runs from this image too.
COPY devstack/ devstack/

RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin lapor
USER lapor

# The port whose /health the health check asks; compose sets it per service.
ENV PORT=8000
EXPOSE 8000 8001 8002 8003 8004 8005

# No curl in the slim image. urlopen raises on a refused connection and on any non-2xx answer.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['PORT'] + '/health/ready', timeout=4)"]

CMD ["python", "-m", "services.serve", "gateway"]

# One image for every role (web, worker, beat, emulator); docker-compose.yml picks the role and
# bin/proc runs that role's line of the Procfile.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --create-home --uid 1000 portal
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# collectstatic needs settings that import; these throwaway values never reach a running container.
RUN DEBUG=true python manage.py collectstatic --no-input \
    && mkdir -p var/prometheus && chown -R portal:portal var
# Each container's processes add up their metrics here (bin/proc empties it at start).
ENV PROMETHEUS_MULTIPROC_DIR=/app/var/prometheus
USER portal
EXPOSE 8000
# Without a command from docker-compose.yml, the image serves the Procfile's `web` role.
CMD ["bin/proc", "web"]

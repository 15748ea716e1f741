# One image for every role (web, worker, beat, emulator); docker-compose.yml picks the command,
# the same commands as the Procfile.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --create-home --uid 1000 portal
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# collectstatic needs settings that import; these throwaway values never reach a running container.
RUN DEBUG=true python manage.py collectstatic --no-input \
    && mkdir -p var && chown -R portal:portal var
USER portal
EXPOSE 8000
# Without a command from docker-compose.yml, the image serves the web role as the Procfile's `web`.
CMD ["sh", "-c", "gunicorn portal.wsgi --bind 0.0.0.0:8000 --workers ${WEB_WORKERS:-2} --worker-class gthread --threads ${WEB_THREADS:-8} --access-logfile - --forwarded-allow-ips \"${FORWARDED_ALLOW_IPS:-127.0.0.1}\""]

# gunicorn reads this file from the working directory on every start (Procfile, Dockerfile,
# docker-compose): access lines go through a logger that masks invite tokens and OAuth secrets.
logger_class = "common.logmask.MaskedGunicornLogger"

"""gunicorn's settings beyond the Procfile's `web` command line, and its hooks."""

import os

# Access lines go through a logger that masks invite tokens and OAuth codes and states.
logger_class = "common.logmask.MaskedGunicornLogger"


def child_exit(server, worker):
    # prometheus-client's multiprocess mode: a dead worker's live gauges must go.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

"""gunicorn's hooks (the Procfile's `web` command line sets everything else)."""

import os


def child_exit(server, worker):
    # prometheus-client's multiprocess mode: a dead worker's live gauges must go.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

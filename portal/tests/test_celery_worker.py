"""A real Celery worker process (not eager mode) runs a task through the real broker."""

import signal
import subprocess
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from common.models import WorkerHeartbeat
from portal.celery import app
from testing.processes import celery_worker_start, child_env
from testing.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_from_the_broker_and_the_result_lands_in_the_database():
    queue = f"test-{uuid.uuid4().hex[:8]}"  # isolates this run from any other worker on the broker
    env = child_env()  # read before closing: it names the test database
    connection.close()  # SQLite: let the worker write the file without our open handle in the way
    worker = celery_worker_start(
        queues=queue,
        concurrency=2,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # send_task never runs eagerly: it always goes through the broker.
        app.send_task("common.tasks.worker_heartbeat", queue=queue)

        def heartbeat_written() -> bool:
            assert worker.poll() is None, worker.stdout.read()
            return WorkerHeartbeat.objects.exists()

        wait_until(heartbeat_written, timeout=60, what="the worker to run the task", interval=0.3)
        assert WorkerHeartbeat.objects.count() == 1
        assert settings.CELERY_BROKER_URL.split(":")[0] in {"redis", "filesystem"}
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()

"""Celery, the broker and the cache: how queued work runs and how lost work comes back."""

from portal.settings.environment import BASE_DIR, read

# --- Celery ---------------------------------------------------------------------------------------
REDIS_URL = read("REDIS_URL", "str", default="")
# Shared by every web process when Redis is there: used TOTP codes (replay), allauth's WebAuthn
# and SSO state, used ID token ids. Without Redis (bin/run's single machine) process memory.
CACHES = {
    "default": read(
        "CACHE_URL",
        "cache_url",
        default=REDIS_URL.replace("redis", "rediscache", 1) or "locmemcache://",
    )
}
# The embedded broker's folder; the test suite uses its own, so a running `bin/run` worker never
# consumes (and runs against the development database) the messages of a test.
BROKER_DIR = (BASE_DIR / read("FILESYSTEM_BROKER_DIR", "str", default="var/broker")).resolve()
# Without Redis, kombu's filesystem transport keeps the embedded run server-less while worker and
# beat still run as real, separate processes.
CELERY_BROKER_URL = read("CELERY_BROKER_URL", "str", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 1800}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
# Outcomes are written to PostgreSQL by the services; nothing reads Celery results.
CELERY_TASK_IGNORE_RESULT = True
# How lost work comes back, in one place (README "Production" has what each fault costs):
# - Every queued unit of work (a tenant's sync, a token refresh, a bulk item) carries a lease in
#   PostgreSQL, WORK_LEASE_S long, renewed when its task starts or schedules a retry; its message
#   expires with the lease. The next beat tick re-enqueues work whose lease ran out, so a dead
#   worker or a lost message costs one lease and one tick, not an hour. An emptied Redis costs
#   one tick: each beat task keeps a marker key in the broker, and when it is gone every queued
#   unit counts as lost at once (common/leases.py, `broker_emptied`).
# - acks_late + reject_on_worker_lost: a message is acknowledged when its task ends, so one whose
#   worker died is redelivered instead of dropped (once its lease ran out, the copy has expired
#   and is discarded: the sweep's new message does the work).
# - visibility_timeout (Redis, 30 min): must exceed the longest countdown a task schedules
#   (retry backoff stops at 10 min; longer budget waits are left to the lease sweep), or Redis would
#   hand a merely waiting message to a second worker. What a killed worker held comes back at
#   the latest after it; the leases recover the work sooner.
# - prefetch 4 per thread: a killed 8-thread worker strands at most 32 messages, each recovered
#   by its lease. At 1 each task waited a broker round trip (bench/README.md).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
WORK_LEASE_S = read("WORK_LEASE_S", "int", default=300)
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "tenants.tasks.*": {"queue": "refresh"},
    "connect.tasks.*": {"queue": "sync"},
    # Processing and forwarding an event: I/O-bound work (partner endpoints answer in their own
    # time), served by the Procfile's `forwarder` workers, so a slow endpoint holds none of the
    # threads that sync and refresh (README "Forwarding events to your application").
    "events.tasks.connect_event_process": {"queue": "events"},
    "forwarding.tasks.destination_deliver": {"queue": "events"},
}
CELERY_TASK_ALWAYS_EAGER = read("CELERY_TASK_ALWAYS_EAGER", "bool", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Unset, Celery reconnects for every task (bench/README.md); portal/celery.py applies Django's.
CELERY_DB_REUSE_MAX = 1000
# The schedule itself lives in portal/celery.py, in one place.

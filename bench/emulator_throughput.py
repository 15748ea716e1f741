"""Requests per second for `GET /connect` against the emulator on loopback, zero latency.

    .venv/bin/python bench/emulator_throughput.py [--threads 4] [--requests 10000]

Starts its own emulator process, uses one keep-alive connection per thread (`http.client` by
default, so the client spends little CPU on a small machine; `--client requests` uses a
`requests.Session` per thread), runs a bounded number of requests and stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ACCOUNT_1_SHARD,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_SEED,
    EmulatorServer,
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--client", choices=["http.client", "requests"], default="http.client")
    args = parser.parse_args()

    with EmulatorServer() as server:
        control = server.control
        control.reset(TEST_SEED)
        control.config(hourly_limit=10**9, burst_limit=10**9)
        token = control.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)["access_token"]
        url = (
            f"{server.base_uri(TEST_ACCOUNT_1_SHARD)}/restapi/v2.1/accounts/"
            f"{TEST_ACCOUNT_1_ID}/connect"
        )
        headers = {"Authorization": f"Bearer {token}"}
        per_thread = args.requests // args.threads
        errors: list[int] = []

        def worker_requests() -> None:
            session = requests.Session()
            for _ in range(per_thread):
                resp = session.get(url, headers=headers, timeout=10)
                if resp.status_code != 200:
                    errors.append(resp.status_code)

        def worker_http_client() -> None:
            split = urlsplit(url)
            conn = http.client.HTTPConnection(split.hostname, split.port, timeout=10)
            for _ in range(per_thread):
                conn.request("GET", split.path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errors.append(resp.status)
            conn.close()

        worker = worker_requests if args.client == "requests" else worker_http_client

        threads = [threading.Thread(target=worker) for _ in range(args.threads)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        total = per_thread * args.threads
        print(
            f"GET /connect: {total} requests in {elapsed:.2f}s = {total / elapsed:,.0f} req/s "
            f"({args.threads} threads, {args.client} keep-alive, {len(errors)} errors)"
        )
        return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m docusign_emulator --port 8765 [--tls] [--latency-ms 0] [--state-file F] [--seed F]`"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from docusign_emulator.server import make_server
from docusign_emulator.state import StatePersister, Store
from docusign_emulator.tls import server_context

DEMO_SEED = Path(__file__).with_name("seed_demo.json")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m docusign_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a local CA")
    parser.add_argument("--tls-dir", default="var/emulator-tls")
    parser.add_argument(
        "--connect-ca-file",
        default="",
        help="CA bundle for listeners' certificates on Connect deliveries (default: system CAs)",
    )
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--state-file", help="persist state as JSON and reload it on start")
    parser.add_argument(
        "--seed", help="seed JSON loaded on start (e.g. docusign_emulator/seed_demo.json)"
    )
    parser.add_argument("--public-url", help="URL clients use (default: scheme://host:port)")
    parser.add_argument("--print-seed", action="store_true", help="print the seed's users and exit")
    return parser.parse_args(argv)


def describe_seed(seed: dict) -> str:
    lines = ["Sign in with:"]
    accounts = {a["account_id"]: a for a in seed.get("accounts", [])}
    for user in seed.get("users", []):
        roles = ", ".join(
            f"{accounts.get(m['account_id'], {}).get('account_name', m['account_id'])}"
            f" ({'admin' if m.get('is_admin') else 'member'})"
            for m in user.get("memberships", [])
        )
        lines.append(f"  {user['email']} / {user['password']}  [{roles}]")
    for key in seed.get("integration_keys", []):
        # The secret stays in the seed file: logs of the run command must not carry secrets.
        lines.append(f"Integration key {key['client_id']} (secret in the seed file)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seed = None
    if args.seed:
        seed = json.loads(Path(args.seed).read_text(encoding="utf-8"))
    if args.print_seed:
        print(describe_seed(seed or json.loads(DEMO_SEED.read_text(encoding="utf-8"))))
        return 0

    store = Store()
    persister = None
    loaded = False
    if args.state_file:
        persister = StatePersister(store, args.state_file)
        loaded = persister.load()
    if seed is not None and not loaded:
        store.seed(seed)
    if args.latency_ms:
        store.config_overrides["latency_ms"] = args.latency_ms
        store.config["latency_ms"] = args.latency_ms

    context, ca_file = server_context(args.tls_dir) if args.tls else (None, None)
    server = make_server(store, args.host, args.port, context, args.public_url)
    # The Connect client certificate (mTLS) comes from the same local CA as --tls.
    server.app.publisher.tls_dir = args.tls_dir
    server.app.publisher.listener_ca = args.connect_ca_file
    server.app.publisher.start()
    if persister is not None:
        persister.start()

    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    if seed is not None:
        print(describe_seed(seed))
    if ca_file:
        print(f"CA certificate: {ca_file}")
    print(f"DocuSign emulator listening on {server.app.public_url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.app.publisher.stop()
        if persister is not None:
            persister.stop()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

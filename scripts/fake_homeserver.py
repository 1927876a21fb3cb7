"""A tiny stand-in Matrix homeserver for `make docker-check`: enough of the client API (versions, whoami,
login, filters, key upload/query, empty syncs) for Footnote to log in, sync and report itself connected.

Standard library only, so it runs in the plain ``python:3.11-slim`` image: ``python fake_homeserver.py [PORT]``.
It holds no rooms and sends no events; the real end-to-end tests use Synapse (tests/synapse/).
"""

from __future__ import annotations

import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

USER_ID = "@footnote:fake.test"
DEVICE_ID = "FAKEDEVICE"
KEY_COUNTS = {"signed_curve25519": 50}


class Handler(BaseHTTPRequestHandler):
    """Answers each known client-API route with a minimal valid body, anything else with ``{}``."""

    protocol_version = "HTTP/1.1"
    syncs = 0

    def _answer(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> dict:
        url = urlparse(self.path)
        path = url.path
        if path.endswith("/versions"):
            return {"versions": ["r0.6.1", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6"]}
        if path.endswith("/account/whoami"):
            return {"user_id": USER_ID, "device_id": DEVICE_ID}
        if path.endswith("/login"):
            return {"user_id": USER_ID, "access_token": "fake-token", "device_id": DEVICE_ID}
        if re.search(r"/user/[^/]+/filter$", path):
            return {"filter_id": "1"}
        if path.endswith("/keys/upload"):
            return {"one_time_key_counts": KEY_COUNTS}
        if path.endswith("/keys/query"):
            return {"device_keys": {}, "failures": {}}
        if path.endswith("/sync"):
            query = parse_qs(url.query)
            if "since" in query:  # a long poll: wait a little, then report nothing new
                time.sleep(min(int(query.get("timeout", ["0"])[0] or 0), 1000) / 1000)
            Handler.syncs += 1
            return {"next_batch": f"s{Handler.syncs}", "rooms": {"join": {}, "invite": {}, "leave": {}},
                    "device_one_time_keys_count": KEY_COUNTS, "device_lists": {"changed": [], "left": []}}
        if path.endswith("/joined_rooms"):
            return {"joined_rooms": []}
        return {}

    def do_GET(self) -> None:
        self._answer(self._route())

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(self._route())

    do_PUT = do_POST

    def log_message(self, fmt: str, *args: object) -> None:
        print(f"{self.command} {urlparse(self.path).path}", flush=True)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hung up mid-poll: not an error
            super().handle_error(request, client_address)


def main() -> None:
    """Serve on 0.0.0.0:PORT (default 8008) until killed."""
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8008
    print(f"fake homeserver on :{port}", flush=True)
    Server(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()

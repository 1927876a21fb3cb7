"""``python -m bot.healthcheck``: ask the running bot's ``/healthz`` and exit 0 when healthy, 1 otherwise.

The Docker HEALTHCHECK runs it. It reads the same config and ``FOOTNOTE_*`` variables as the bot, so the
port and address it asks are the ones the bot serves on (a wildcard bind address is asked on loopback).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

from .config import find_config, load_config
from .errors import FootnoteError

__all__ = ["main", "health_url"]

_WILDCARDS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}


def health_url(host: str, port: int) -> str:
    """The URL to ask for a server bound to ``host:port``."""
    host = _WILDCARDS.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/healthz"


def main() -> int:
    """Print one line with the state and exit 0 when healthy."""
    try:
        config = load_config(find_config(None))
    except FootnoteError as exc:
        print(f"unhealthy: {exc}")
        return 1
    if not config.metrics.enabled:
        print("unknown: the health server is off (set metrics.enabled or FOOTNOTE_METRICS_ENABLED=true)")
        return 1
    url = health_url(config.metrics.host, config.metrics.port)
    try:
        with urllib.request.urlopen(url, timeout=4) as resp:
            body = json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read() or b"{}")
        print(f"unhealthy: {body.get('state', exc.code)} {json.dumps(body.get('adapters', {}), default=str)}")
        return 1
    except (OSError, ValueError) as exc:
        print(f"unhealthy: no answer from {url} ({exc})")
        return 1
    print(f"healthy: {body.get('state', 'ok')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

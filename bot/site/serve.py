"""``python -m bot site serve``: preview a built site on 127.0.0.1 with Python's own HTTP server."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

__all__ = ["preview_server"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from one folder; logs requests as one short line each."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".json": "application/json", ".xml": "application/xml"}

    def log_message(self, format: str, *args: object) -> None:
        print(f"  {self.command} {self.path} -> {args[1] if len(args) > 1 else ''}")


def preview_server(folder: Path, port: int = 8000) -> http.server.ThreadingHTTPServer:
    """An HTTP server for ``folder`` bound to 127.0.0.1 (``port`` 0 picks a free one); call ``serve_forever``."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)

"""The ``site`` verb of ``python -m bot``: ``site build OUT_DIR`` and ``site serve [DIR]``."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..config import Config, SiteConfig

__all__ = ["add_cli"]


def _site_config(config: Config, base_url: str | None) -> SiteConfig:
    """The config's ``site`` section, with ``--base-url`` (validated the same way) when given."""
    from pydantic import ValidationError

    from ..config import SiteConfig

    if base_url is None:
        return config.site
    try:
        return SiteConfig.model_validate({**config.site.model_dump(), "base_url": base_url})
    except ValidationError as exc:
        raise ConfigError(f"--base-url: {exc.errors()[0]['msg']}") from None


def _build(args: argparse.Namespace, load: Callable[[argparse.Namespace], Config], out: Path) -> None:
    from ..kb.loader import load_knowledge
    from .build import build_site

    config = load(args)
    site = _site_config(config, args.base_url)
    kb, _ = load_knowledge(config.knowledge_dirs())
    report = build_site(kb, out, site)
    for warning in report.warnings:
        print(f"warning: {warning}")
    print(f"wrote {len(report.pages)} pages and {len(report.files)} files to {out} in {report.seconds:.2f} s"
          + (f" (removed {len(report.removed)} stale pages)" if report.removed else ""))


def add_cli(sub: argparse._SubParsersAction, load: Callable[[argparse.Namespace], Config]) -> None:
    """Add ``site build`` and ``site serve``; ``load`` reads the config the way every other command does."""

    def cmd_build(args: argparse.Namespace) -> int:
        _build(args, load, Path(args.out_dir))
        return 0

    def cmd_serve(args: argparse.Namespace) -> int:
        from .serve import preview_server

        with tempfile.TemporaryDirectory(prefix="footnote-site-") as tmp:
            folder = Path(args.folder) if args.folder else Path(tmp)
            if not args.folder:
                _build(args, load, folder)
            elif not (folder / "index.html").is_file():
                raise ConfigError(f"{folder}: no index.html there; build the site first with "
                                  f"`python -m bot site build {folder}`")
            try:
                server = preview_server(folder, args.port)
            except OSError as exc:
                raise ConfigError(f"port {args.port}: cannot listen on 127.0.0.1 ({exc.strerror}); "
                                  "pick another with --port") from None
            print(f"previewing {folder} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl+C stops)", flush=True)
            try:
                server.serve_forever()
            finally:
                server.server_close()
        return 0

    site = sub.add_parser("site", help="build the knowledge base as a static website, or preview it")
    site_sub = site.add_subparsers(dest="site_command", metavar="SITE_COMMAND", required=True)
    build = site_sub.add_parser("build", help="write the website into OUT_DIR (index, one page per entry, "
                                "sources, sitemap.xml, claims.json)")
    build.add_argument("out_dir", metavar="OUT_DIR")
    serve = site_sub.add_parser("serve", help="preview the website on 127.0.0.1 (built fresh unless DIR is given)")
    serve.add_argument("folder", nargs="?", metavar="DIR", help="an already built site to serve")
    serve.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000; 0 picks a free one)")
    for parser, func in ((build, cmd_build), (serve, cmd_serve)):
        parser.add_argument("--dir", action="append", help="an extra knowledge directory (repeatable)")
        parser.add_argument("--base-url", help="the address the site is published at (overrides site.base_url)")
        parser.set_defaults(func=func)

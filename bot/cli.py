"""``python -m bot``: run (the default), console, kb check|schema|test, eval, bench, config check, stats,
db backup, site build|serve. User mistakes print one plain line and exit 1, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .config import BUNDLED_KNOWLEDGE, Config, config_sources, find_config, load_config, matrix_store_dir
from .errors import FootnoteError
from .logs import setup_logging

if TYPE_CHECKING:
    from .kb.loader import KnowledgeBase

__all__ = ["main", "build_parser"]

log = logging.getLogger("footnote")


def _load(args: argparse.Namespace) -> Config:
    config = load_config(find_config(args.config))
    setup_logging(args.log_format or config.log_format, config.log_level)
    extra = getattr(args, "dir", None)
    if extra:
        config = config.model_copy(update={"knowledge": config.knowledge.model_copy(
            update={"extra_dirs": [*config.knowledge.extra_dirs, *map(Path, extra)]})})
    return config


# ---------------------------------------------------------------------------------------------- commands


def _quiet_decisions() -> None:
    """In a terminal chat, eval or bench, one log line per decision would drown the output."""
    logging.getLogger("footnote.engine").setLevel(logging.WARNING)


def _check_database(config: Config) -> None:
    from .preflight import check_writable_file

    if not config.uses_postgres:
        check_writable_file(config.database, "the database")


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args)
    if not (config.discord_enabled or config.matrix_enabled):
        # A server (a container, a service) has no terminal: say what is missing instead of chatting to nobody.
        if not sys.stdin.isatty():
            from .errors import ConfigError
            from .preflight import no_platform_message

            raise ConfigError(no_platform_message(config, find_config(args.config), dict(os.environ)))
        return cmd_console(args, config)
    _check_database(config)
    from .runner import run_bot

    return asyncio.run(run_bot(config))


def cmd_console(args: argparse.Namespace, config: Config | None = None) -> int:
    from .adapters.console import ConsoleChat, console_config
    from .app import open_app

    config = console_config(config or _load(args))
    if (args.log_format or config.log_format) == "text":
        _quiet_decisions()
    once = getattr(args, "once", None)
    if once is not None:  # one message, judged on its own: no cooldown or cap left over from an earlier run
        config = config.model_copy(update={"database": Path(":memory:")})
    else:
        _check_database(config)

    async def go() -> None:
        async with open_app(config) as app:
            chat = ConsoleChat(app.engine)
            if once is not None:
                response = await chat.handle_line(once)
                print(response or "(Footnote stays quiet: no claim it knows was recognised.)")
            else:
                await chat.run()

    asyncio.run(go())
    return 0


def cmd_kb_check(args: argparse.Namespace) -> int:
    from .kb.loader import load_knowledge

    config = _load(args)
    kb, report = load_knowledge(config.knowledge_dirs())
    for warning in report.warnings:
        print(f"warning: {warning}")
    claims = sum(not c.is_topic for c in kb.claims.values())
    print(f"ok: {claims} claims, {len(kb.claims) - claims} topics, {len(kb.sources)} sources "
          f"in {', '.join(map(str, config.knowledge_dirs()))}")
    return 0 if args.stale is None else _report_stale(kb, args.stale)


def _shown(path: Path) -> str:
    """A path relative to the working directory when it lies below it (shorter to read and to click)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _report_stale(kb: KnowledgeBase, days: int) -> int:
    """List entries not reviewed within ``days``; exit 1 if there are any, so a scheduled job can alert."""
    import datetime as dt

    from .kb.review import stale_entries

    today = dt.date.today()
    stale = stale_entries(kb, today=today, max_age_days=days)
    if not stale:
        print(f"all {len(kb.claims)} entries were reviewed within the last {days} days")
        return 0
    print(f"{len(stale)} of {len(kb.claims)} entries were last reviewed more than {days} days ago "
          f"(before {today - dt.timedelta(days=days)}):")
    for entry in stale:
        print(f"  {_shown(entry.path) if entry.path else entry.claim_id}: reviewed {entry.reviewed} ({entry.age_days} days ago)")
    print("Re-check each number and date in these entries against its sources (docs/knowledge.md, "
          "'Keep it true'), fix what changed, then set reviewed: to the day you checked.")
    return 1


def cmd_kb_schema(args: argparse.Namespace) -> int:
    from .kb.schema import write_schema

    path = Path(args.output) if args.output else BUNDLED_KNOWLEDGE / "schema.json"
    write_schema(path)
    print(f"wrote {path}")
    return 0


def cmd_kb_test(args: argparse.Namespace) -> int:
    from .brain import build_brain

    config = _load(args)
    brain, _ = build_brain(config.knowledge_dirs(), config.match)
    result = brain.matcher.match(args.message, context_active=args.context)
    print(f"on topic: {'yes' if result.on_topic else 'no'} {list(brain.matcher.gate.hits(args.message))}")
    print(f"decision: {result.tier.value if result.tier else 'no match'} — {result.reason}")
    if result.segment:
        print(f"matched sentence {result.segment_index} of {result.segment_count}: {result.segment!r}")
    print(f"scored with: {'the transformer encoder' if brain.matcher.uses_encoder else 'the static vectors'}")
    for s in result.candidates:
        print(f"  {s.claim_id:28} combined {s.combined:.3f}  lexical {s.lexical:.3f}  semantic {s.semantic:.3f}  "
              f"counter {s.counter:.3f}\n  {'':28} nearest example: {s.evidence!r}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import format_report, run_eval

    config = _load(args)
    _quiet_decisions()
    report = run_eval(Path(args.file), config, split=args.split)
    print(json.dumps(report, indent=None if args.json else 2) if args.json else format_report(report))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    config = _load(args)
    _quiet_decisions()
    if args.database:  # decision latency and throughput with 1 and 3 processes, SQLite beside PostgreSQL
        from .bench_storage import run_storage_bench
        from .storage import is_database_url

        if not is_database_url(args.database):
            raise FootnoteError(f"--database wants a postgresql:// URL, not {args.database!r}")
        return run_storage_bench(args.database, count=100 if args.smoke else 1000, as_json=args.json)
    return run_bench(config, as_json=args.json, smoke=args.smoke)


def cmd_config_check(args: argparse.Namespace) -> int:
    from .storage import redact_url

    config = _load(args)
    effective = config.model_dump(mode="json")
    if config.matrix is not None:
        effective["matrix"]["store_path"] = str(matrix_store_dir(config))
    effective["database"] = redact_url(str(effective["database"]))  # a password in a URL stays hidden
    effective["sources"] = config_sources(find_config(args.config))
    print(json.dumps(effective, indent=2, default=str))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    import time

    from .app import open_app
    from .stats import stats_lines

    config = _load(args)
    _check_database(config)

    async def go() -> None:
        async with open_app(config) as app:
            print("\n".join(await stats_lines(app.engine, now=time.time(), scope=None)))

    asyncio.run(go())
    return 0


def cmd_db_backup(args: argparse.Namespace) -> int:
    from .preflight import check_writable_file
    from .storage import open_storage

    config = _load(args)
    check_writable_file(Path(args.path), "the backup")
    _check_database(config)

    async def go() -> None:
        storage = await open_storage(config.database)
        try:
            await storage.backup(Path(args.path))
        finally:
            await storage.close()

    asyncio.run(go())
    print(f"backed up to {args.path}")
    return 0


# ---------------------------------------------------------------------------------------------- parser


def _days(text: str) -> int:
    """argparse type for --stale: a whole number of days, 0 or more."""
    try:
        days = int(text)
    except ValueError:
        days = -1
    if days < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of days (write a whole number such as 365)")
    return days


def _add_global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``--config`` and ``--log-format``, before the verb or after it (a sub-command's value only counts when
    given, so ``--config A run`` and ``run --config A`` both work)."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--config", default=default,
                        help="config file (default: $FOOTNOTE_CONFIG or ./config.yaml if present)")
    parser.add_argument("--log-format", choices=["text", "json"], default=default,
                        help="log lines as text (default) or JSON")


def _every_subparser(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found += [child, *_every_subparser(child)]
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Footnote: cited context for social "
                                     "credit claims in chat.")
    _add_global_options(parser, top=True)
    parser.set_defaults(func=cmd_run)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("run", help="start every configured platform (none: the console in a terminal, else "
                   "say what is missing and exit 1)").set_defaults(func=cmd_run)
    console = sub.add_parser("console", help="chat with the bot in this terminal")
    console.add_argument("--once", metavar="TEXT", help="answer one message and exit")
    console.set_defaults(func=cmd_console)

    kb = sub.add_parser("kb", help="check, test and describe the knowledge files")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)
    check = kb_sub.add_parser("check", help="validate the knowledge files (exit 1 with every error)")
    check.add_argument("--dir", action="append", help="an extra knowledge directory (repeatable)")
    check.add_argument("--stale", type=_days, metavar="DAYS",
                       help="also list entries whose reviewed: date is older than DAYS (exit 1 if any)")
    check.set_defaults(func=cmd_kb_check)
    schema = kb_sub.add_parser("schema", help="write knowledge/schema.json for editors")
    schema.add_argument("--output", help="where to write (default knowledge/schema.json)")
    schema.set_defaults(func=cmd_kb_schema)
    test = kb_sub.add_parser("test", help="show how a message would be matched")
    test.add_argument("message")
    test.add_argument("--dir", action="append", help="an extra knowledge directory (repeatable)")
    test.add_argument("--context", action="store_true", help="as if the channel was just on topic")
    test.set_defaults(func=cmd_kb_test)

    ev = sub.add_parser("eval", help="precision and recall on a labelled YAML file")
    ev.add_argument("file")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--split", choices=("tune", "test"), help="only the items of this half (real-text data)")
    ev.set_defaults(func=cmd_eval)
    bench = sub.add_parser("bench", help="measure matcher throughput, latency, load time and memory")
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--smoke", action="store_true", help="a quick run (seconds) for the test suite")
    bench.add_argument("--database", metavar="URL", help="measure decisions with 1 and 3 processes on this "
                       "PostgreSQL (postgresql://...) beside SQLite, instead of the matcher")
    bench.set_defaults(func=cmd_bench)

    cfg = sub.add_parser("config", help="validate the config")
    cfg_sub = cfg.add_subparsers(dest="config_command", metavar="CONFIG_COMMAND", required=True)
    cfg_sub.add_parser("check", help="validate and print the effective settings, secrets masked").set_defaults(
        func=cmd_config_check)
    sub.add_parser("stats", help="answers per claim, feedback and near misses").set_defaults(func=cmd_stats)
    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    backup = db_sub.add_parser("backup", help="copy the database safely while the bot runs")
    backup.add_argument("path")
    backup.set_defaults(func=cmd_db_backup)
    from .site.cli import add_cli as add_site_cli

    add_site_cli(sub, _load)
    try:
        from .adapters.discord_cli import add_cli
    except ImportError:  # pragma: no cover - the Discord adapter is optional at import time
        pass
    else:
        add_cli(sub)
    for child in _every_subparser(parser):
        _add_global_options(child, top=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``python -m bot``."""
    args = build_parser().parse_args(argv)
    try:
        setup_logging(args.log_format or "text")
        return int(args.func(args) or 0)
    except FootnoteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `python -m bot eval ... | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

"""The `top10bot` command line (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

from bot import __version__
from bot.config import CONFIG_ENV, Config, ConfigError, load_config
from bot.events import Event
from bot.i18n import ENGLISH
from bot.models import Chart
from bot.pipeline import Pipeline, PipelineStats
from bot.ports import Backend, StorageRefused
from bot.render import event_line
from bot.roles import Role
from bot.sources.errors import SourceError
from bot.sources.files import ChartFile, merge_by_period, read_charts, resolve_files

log = logging.getLogger("top10bot")

_DB_HELP = "database URL (sqlite:///…, postgresql://…) or SQLite file (default: [storage] url)"


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="top10bot", description="Streaming chart alerts for Discord and Telegram."
    )
    parser.add_argument("--version", action="version", version=f"top10bot {__version__}")
    parser.add_argument(
        "--config", metavar="FILE", help=f"TOML config file (default: ${CONFIG_ENV}, else none)"
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the bot (console when no chat token is configured)")
    run.add_argument(
        "--role",
        choices=[role.value for role in Role],
        default=Role.ALL.value,
        help="what this process does: all (default), poller (polls the sources and queues"
        " alerts; one at a time, others stand by), sender (sends queued alerts), gateway"
        " (answers commands)",
    )

    replay = commands.add_parser(
        "replay",
        help="feed chart files through the gate, store and diff; print the events"
        " (history: no alerts are queued)",
        description="Feed chart files through the gate, store and diff them, and print the"
        " events. Replayed events are history: no deliveries are queued for them.",
    )
    replay.add_argument("files", nargs="+", metavar="FILE[@YYYY-MM-DD]")
    replay.add_argument("--db", metavar="URL", help="database URL or SQLite file (default: temp)")
    replay.add_argument("--from", dest="since", type=_iso_date, metavar="DATE")
    replay.add_argument("--to", dest="until", type=_iso_date, metavar="DATE")
    replay.add_argument("--format", choices=("text", "jsonl"), default="text")

    imp = commands.add_parser(
        "import",
        help="store chart history (same gate) without printing events; queues no alerts",
        description="Store chart history (through the same gate) without printing events,"
        " then print one summary line. Imported events are history: no deliveries are queued"
        " for them.",
    )
    imp.add_argument("files", nargs="+", metavar="FILE[@YYYY-MM-DD]")
    imp.add_argument("--db", metavar="URL", help=_DB_HELP)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    migrate = db_commands.add_parser("migrate", help="apply pending migrations")
    migrate.add_argument("--db", metavar="URL", help=_DB_HELP)
    copy = db_commands.add_parser(
        "copy",
        help="copy every row of one database into another, empty one (SQLite ⇄ PostgreSQL)",
    )
    copy.add_argument("source", metavar="SRC", help="URL or SQLite file to copy from")
    copy.add_argument("target", metavar="DST", help="URL or SQLite file to fill (must be empty)")

    poll = commands.add_parser("poll", help="poll the live sources (Netflix, FlixPatrol)")
    poll.add_argument("--source", metavar="NAME", help="only this source: netflix or flixpatrol")
    poll.add_argument(
        "--once", action="store_true", help="one pass, a summary line per source, then exit"
    )
    poll.add_argument("--db", metavar="URL", help=_DB_HELP)
    poll.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,  # adds to a -v given before the command
        help="also print every event and every rejected chart",
    )

    status = commands.add_parser(
        "status", help="per source and chart: last accepted and rejected period, next poll"
    )
    status.add_argument("--db", metavar="URL", help=_DB_HELP)

    deliveries = commands.add_parser(
        "deliveries", help="the alert outbox: counts, dead letters, sending what is due"
    )
    delivery_commands = deliveries.add_subparsers(
        dest="deliveries_command", required=True, metavar="ACTION"
    )
    delivery_status = delivery_commands.add_parser(
        "status",
        help="pending / failed / sent / dead counts over the whole history (a scan of every"
        " delivery ever queued: seconds on a large store) and the newest dead letters",
    )
    delivery_status.add_argument("--limit", type=int, default=20, help="dead letters to list")
    delivery_retry = delivery_commands.add_parser(
        "retry", help="queue every dead letter again (after fixing what killed it)"
    )
    delivery_send = delivery_commands.add_parser(
        "send",
        help="send every delivery due now through the configured platforms, then exit"
        " (0: all sent, 1: some ended dead, 2: no platform configured); for cron after"
        " `poll --once`",
    )
    for sub in (delivery_status, delivery_retry, delivery_send):
        sub.add_argument("--db", metavar="URL", help=_DB_HELP)
    return parser


def _storage_url(config: Config, db: str | None) -> str:
    """`--db` names a database by URL (postgresql://…, sqlite:///…) or a SQLite file by path."""
    if not db:
        return config.storage.url
    return db if "://" in db else f"sqlite:///{Path(db).resolve()}"


@asynccontextmanager
async def _opened_storage(url: str) -> AsyncIterator[Backend]:
    """The store at `url`, migrated, closed on the way out whatever happens."""
    from bot.app import open_storage_url

    storage = await open_storage_url(url)
    try:
        yield storage
    finally:
        await storage.close()


EVENTS_PER_WRITE = 1_000


def _write_bytes(data: bytes) -> None:
    """UTF-8 bytes to stdout as they are: orjson makes bytes, and decoding them for the text
    layer to encode again cost a replay ~270 MB of copying."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # stdout replaced by a text-only stream
        sys.stdout.write(data.decode())
        return
    sys.stdout.flush()  # anything written as text comes first
    buffer.write(data)


def _chart_stream(files: Sequence[ChartFile], until: date | None) -> Iterator[Chart]:
    stream = merge_by_period(read_charts(f) for f in files)
    for chart in stream:
        if until is not None and chart.period > until:
            return  # input is period-ordered: nothing later can be in range
        yield chart


def _report_rejections(stats: PipelineStats) -> None:
    for label, reason in stats.rejections:
        print(f"rejected: {label}: {reason}", file=sys.stderr)


async def _feed(
    config: Config,
    url: str,
    files: Sequence[str],
    *,
    until: date | None = None,
    print_events: bool = False,
    since: date | None = None,
    fmt: str = "text",
    summary: bool = False,
) -> int:
    """`summary`: a progress line on a terminal while it works, and a summary line at the end
    (import); else the counts are logged (replay, whose stdout is its events)."""
    started = time.monotonic()
    async with _opened_storage(url) as storage:

        async def write_events(events: list[Event]) -> None:
            shown = events if since is None else [e for e in events if e.period >= since]
            # A few writes per stored batch (a long replay prints hundreds of thousands of
            # lines), with a pause between them for the chat adapters sharing the loop.
            for start in range(0, len(shown), EVENTS_PER_WRITE):
                chunk = shown[start : start + EVENTS_PER_WRITE]
                if fmt == "jsonl":
                    _write_bytes(b"\n".join([event.to_json_bytes() for event in chunk]) + b"\n")
                else:
                    sys.stdout.write(
                        "\n".join([event_line(event, ENGLISH) for event in chunk]) + "\n"
                    )
                await asyncio.sleep(0)

        # History, not news: nothing is queued for delivery.
        pipeline = Pipeline(
            storage,
            config.diff,
            queue_deliveries=False,
            sink=write_events if print_events else None,
        )
        try:
            chart_files = resolve_files(files)
            charts = _chart_stream(chart_files, until)
            if summary:
                from bot.import_progress import chart_progress  # rich: only import pays for it

                with chart_progress(sys.stderr) as progress:
                    stats = await pipeline.process(progress.track(charts))
            else:
                stats = await pipeline.process(charts)
        except SourceError as exc:
            print(f"rejected: {exc.what or exc.source}: {exc.reason}", file=sys.stderr)
            return 1
        _report_rejections(stats)
        if summary:
            from bot.import_progress import import_summary

            print(import_summary(len(chart_files), stats, time.monotonic() - started))
            return 1 if stats.rejected else 0
        log.info(
            "%d charts accepted, %d rejected, %d skipped, %d rows, %d events",
            stats.accepted,
            stats.rejected,
            stats.skipped,
            stats.rows,
            stats.events,
        )
        return 1 if stats.rejected else 0


async def _replay(config: Config, args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as scratch:
        if args.db:
            url = _storage_url(config, args.db)
        else:
            tmp = scratch.enter_context(tempfile.TemporaryDirectory(prefix="top10bot-replay-"))
            url = f"sqlite:///{Path(tmp) / 'replay.db'}"
        return await _feed(
            config,
            url,
            args.files,
            until=args.until,
            print_events=True,
            since=args.since,
            fmt=args.format,
        )


async def _migrate(config: Config, args: argparse.Namespace) -> int:
    async with _opened_storage(_storage_url(config, args.db)) as storage:  # opening migrates
        version = await storage.migrate()
    print(f"schema version {version}")
    return 0


async def _copy(config: Config, args: argparse.Namespace) -> int:
    from bot.app import copy_storage

    copied = await copy_storage(
        _storage_url(config, args.source), _storage_url(config, args.target)
    )
    for table, rows in copied.items():
        print(f"{table}: {rows} rows")
    return 0


async def _poll(config: Config, args: argparse.Namespace) -> int:
    from bot.app_cli import poll_on_schedule, poll_once

    url = _storage_url(config, args.db)
    async with _opened_storage(url) as storage:
        verbose = args.verbose > 0
        if args.once:
            return await poll_once(config, storage, url=url, source=args.source, verbose=verbose)
        return await poll_on_schedule(config, storage, url=url, source=args.source, verbose=verbose)


async def _status(config: Config, args: argparse.Namespace) -> int:
    from bot.app import open_delivery_outbox
    from bot.app_cli import next_poll_time
    from bot.delivery.report import format_delivery_backlog
    from bot.status import status_command

    async with _opened_storage(_storage_url(config, args.db)) as storage:
        code = await status_command(config, storage, next_fire=next_poll_time)
        outbox = await open_delivery_outbox(storage)
        print(format_delivery_backlog(await outbox.backlog()))
        return code


async def _deliveries(config: Config, args: argparse.Namespace) -> int:
    """`top10bot deliveries status|retry|send`: what the outbox holds; dead letters queued
    again; what is due sent now."""
    from datetime import UTC, datetime

    from bot.app import open_delivery_outbox
    from bot.app_cli import send_deliveries
    from bot.delivery.report import format_dead_letter, format_delivery_counts

    async with _opened_storage(_storage_url(config, args.db)) as storage:
        if args.deliveries_command == "send":
            return await send_deliveries(config, storage, environ=os.environ)
        outbox = await open_delivery_outbox(storage)
        if args.deliveries_command == "retry":
            requeued = await outbox.requeue_dead(datetime.now(UTC))
            print(f"{requeued} dead letters queued again; a running bot sends them shortly")
            return 0
        print(format_delivery_counts(await outbox.counts()))
        for letter in await outbox.dead_letters(args.limit):
            print(format_dead_letter(letter))
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    # python-telegram-bot 22: read time periods as timedelta (the future default); without it
    # every flood-control answer also raises a deprecation warning.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "replay":
            return asyncio.run(_replay(config, args))
        if args.command == "import":
            url = _storage_url(config, args.db)
            return asyncio.run(_feed(config, url, args.files, summary=True))
        if args.command == "db":
            run_db = _copy if args.db_command == "copy" else _migrate
            return asyncio.run(run_db(config, args))
        if args.command == "poll":
            return asyncio.run(_poll(config, args))
        if args.command == "status":
            return asyncio.run(_status(config, args))
        if args.command == "deliveries":
            return asyncio.run(_deliveries(config, args))
        from bot.app import run_bot

        return asyncio.run(run_bot(config, role=Role(args.role)))
    except ConfigError as exc:  # a section a command reads when it needs it ([netflix], …)
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except StorageRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SourceError as exc:
        print(
            f"error: {exc.what}: {exc.reason}" if exc.what else f"error: {exc.reason}",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`top10bot replay … | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())

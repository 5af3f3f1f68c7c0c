"""Poll passes: operator alerts, catch-up folding, the `poll` and `status` commands, config."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from bot.__main__ import main
from bot.catchup import CatchupSummary, event_age, fold_catchup, fold_catchup_per_chat
from bot.config import Config, ConfigError, load_config
from bot.events import Event, EventType
from bot.i18n import ENGLISH
from bot.models import WORLD, ChartKey
from bot.poll import FAILED_POLLS_BEFORE_ALERT, Poller, PollOutput, operator_sink
from bot.poll_config import load_poll_config, parse_duration
from bot.poll_report import SourceReport
from bot.ports import Batch, Storage
from bot.sources import netflix
from bot.sources.feed import Fetched, SourceItem
from bot.sources.netflix_fetch import NetflixSource
from bot.status import collect_status, format_status
from bot.subscriptions import Destination, SubscriptionSpec
from handlers.http import AiohttpClient
from handlers.scheduler import next_fire_time, poll_on_schedule
from storage import SqliteBackend, open_backend
from storage.memory.poller_lock import ProcessPollerLock
from tests.fakes.source_server import FAST_FETCH, FIXTURES, Reply, SourceServer, config_toml

GLOBAL = (FIXTURES / "poll" / "all-weeks-global.tsv").read_text(encoding="utf-8")
GLOBAL_PATH = "/tudum/top10/data/" + netflix.GLOBAL_FILE
NOW = datetime(2026, 7, 22, 14, 0, tzinfo=UTC)


def write_config(tmp_path: Path, server: SourceServer, **extra_tables: dict[str, object]) -> Path:
    tables: dict[str, dict[str, object]] = {
        "storage": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
        "sources.netflix": {"base_url": server.netflix_base, "files": ["global"], **FAST_FETCH},
        **extra_tables,
    }
    path = tmp_path / "config.toml"
    path.write_text(config_toml(tables), encoding="utf-8")  # type: ignore[arg-type]
    return path


def event(period: date, title: str = "Some Film", kind: EventType = EventType.ENTERED) -> Event:
    key = ChartKey("flixpatrol", "netflix", "NL", "Movies", "daily")
    return Event(kind, key, period, title.lower(), title, None, rank=3)


# --- catch-up folding ---------------------------------------------------------------------


def test_event_age_counts_from_the_end_of_the_period() -> None:
    now = datetime(2026, 7, 22, 6, 0, tzinfo=UTC)
    assert event_age(event(date(2026, 7, 21)), now) == timedelta(hours=6)
    assert event_age(event(date(2026, 7, 19)), now) == timedelta(days=2, hours=6)


def test_old_events_fold_into_one_summary() -> None:
    now = datetime(2026, 7, 25, 10, 0, tzinfo=UTC)
    recent = [event(date(2026, 7, 24)), event(date(2026, 7, 23))]
    old = [
        event(date(2026, 7, 20), "Old One", EventType.NEW_NUMBER_ONE),
        event(date(2026, 7, 21), "Old Two"),
        event(date(2026, 7, 22), "Old Three"),
    ]
    fold = fold_catchup([*old, *recent], now=now, max_age=timedelta(days=2))
    assert fold.fresh == recent
    assert fold.summary is not None and list(fold.summary.events) == old
    text = fold.summary.text(ENGLISH)
    assert text.splitlines()[0] == (
        "Catch-up: 3 events from 2026-07-20 to 2026-07-22 while the bot was away."
    )
    assert text.splitlines()[1] == "2 entries, 1 new #1"
    # The most important event comes first among the highlights.
    assert "Old One" in text.splitlines()[2]

    nothing_old = fold_catchup(recent, now=now, max_age=timedelta(days=2))
    assert nothing_old.summary is None and nothing_old.fresh == recent


def test_each_chat_gets_at_most_one_summary() -> None:
    now = datetime(2026, 7, 25, 10, 0, tzinfo=UTC)
    per_chat = fold_catchup_per_chat(
        {
            "telegram:1": [event(date(2026, 7, 20)), event(date(2026, 7, 21), "B")],
            "discord:2": [event(date(2026, 7, 24))],
        },
        now=now,
        max_age=timedelta(days=2),
    )
    first = per_chat["telegram:1"].summary
    assert first is not None and len(first.events) == 2
    assert per_chat["telegram:1"].fresh == []
    assert per_chat["discord:2"].summary is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4d", timedelta(days=4)),
        ("36h", timedelta(hours=36)),
        ("90m", timedelta(minutes=90)),
        ("1w", timedelta(weeks=1)),
        (3600, timedelta(hours=1)),
    ],
)
def test_parse_duration(text: str | int, expected: timedelta) -> None:
    assert parse_duration(text, "key") == expected


@pytest.mark.parametrize("bad", ["4 days", "-1d", "", True, 1.5])
def test_parse_duration_refuses_nonsense(bad: object) -> None:
    with pytest.raises(ConfigError, match="key must be a duration"):
        parse_duration(bad, "key")


# --- config -------------------------------------------------------------------------------


def test_defaults_without_any_config() -> None:
    poll_config = load_poll_config(Config())
    assert poll_config.enabled_sources() == ["netflix"]
    assert poll_config.netflix.base_url == "https://www.netflix.com/tudum/top10/data/"
    assert poll_config.netflix.schedule == ("0 14 * * *", "0 20 * * *")
    assert poll_config.flixpatrol.base_url == "https://flixpatrol.com/"
    assert poll_config.catchup_max_age == timedelta(days=4)
    assert poll_config.admin_chat is None
    assert poll_config.alert_after == timedelta(minutes=30)


def test_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    poll_config = load_poll_config(load_config(example))
    assert poll_config.netflix.enabled
    assert poll_config.flixpatrol.countries


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[sources.hulu]\nenabled = true\n", "unknown section \\[sources.hulu\\]"),
        ("[sources.netflix]\nenabeld = true\n", "did you mean enabled\\?"),
        ("[sources.netflix]\nfiles = ['weekly']\n", "files: choose from"),
        ("[sources.netflix]\ntimeout = 'slow'\n", "timeout must be a number"),
        ("[alerts]\ncatchup_max_age = 'soon'\n", "catchup_max_age must be a duration"),
        ("[admin]\nchat = 5\n", "\\[admin\\] chat must be"),
        ("[admin]\nalert_after = 'later'\n", "\\[admin\\] alert_after must be a duration"),
    ],
)
def test_config_mistakes_fail_fast(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_poll_config(load_config(path))


# --- failures in a row --------------------------------------------------------------------


def alerting_poller(
    tmp_path: Path,
    server: SourceServer,
    http: AiohttpClient,
    storage: Storage,
    **extra_tables: dict[str, object],
) -> tuple[Callable[[], Poller], list[str]]:
    """A new poller each time (the count and the streak live in the store, not in memory), on
    the real clock, which the tests move with time-machine; and the alerts it sends."""
    config = load_config(write_config(tmp_path, server, **extra_tables))
    alerts: list[str] = []

    async def operator(text: str) -> None:
        alerts.append(text)

    def poller() -> Poller:
        return Poller(
            storage,
            load_poll_config(config),
            config.diff,
            http=http,
            output=PollOutput(operator=operator),
        )

    return poller, alerts


async def test_failed_polls_page_the_operator_once_they_span_alert_after(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    poller, alerts = alerting_poller(tmp_path, server, http, storage)
    server.put_netflix(netflix.GLOBAL_FILE, "null")
    with time_machine.travel(NOW, tick=False) as traveller:
        # Three failures a minute apart (the publication window's pace): a blip, no page.
        for _ in range(FAILED_POLLS_BEFORE_ALERT):
            assert (await poller().poll("netflix")).failed
            traveller.shift(timedelta(minutes=1))
        assert alerts == []
        traveller.shift(timedelta(minutes=26))  # the 4th failure, 29 minutes after the first
        await poller().poll("netflix")
        assert alerts == []
        traveller.shift(timedelta(minutes=1))  # 30 minutes: failed often and long enough
        await poller().poll("netflix")
        assert len(alerts) == 1
        assert alerts[0].startswith("⚠ top10bot: netflix failed 5 polls in a row")
        assert "body is `null`" in alerts[0]
        traveller.shift(timedelta(hours=2))
        await poller().poll("netflix")
        assert len(alerts) == 1  # one alert per streak

        server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
        assert not (await poller().poll("netflix")).failed
        assert alerts[1] == "✅ top10bot: netflix recovered after 6 failed polls."

        # A new streak starts from zero, its clock too: failures 20 minutes apart page at the
        # third, 40 minutes after the first.
        server.put_netflix(netflix.GLOBAL_FILE, "<html>maintenance</html>")
        for count in range(1, FAILED_POLLS_BEFORE_ALERT + 1):
            traveller.shift(timedelta(minutes=20))
            await poller().poll("netflix")
            assert len(alerts) == (2 if count < FAILED_POLLS_BEFORE_ALERT else 3)
        assert alerts[2].startswith("⚠ top10bot: netflix failed 3 polls in a row")


async def test_a_short_blip_never_pages_nor_recovers(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    poller, alerts = alerting_poller(tmp_path, server, http, storage)
    server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
    with time_machine.travel(NOW, tick=False) as traveller:
        assert not (await poller().poll("netflix")).failed
        server.script(GLOBAL_PATH, *[Reply(404, "Not Found")] * 5)
        for _ in range(5):
            traveller.shift(timedelta(minutes=1))
            assert (await poller().poll("netflix")).failed
        traveller.shift(timedelta(minutes=1))
        assert not (await poller().poll("netflix")).failed
    assert alerts == []  # no alert, so no "recovered" either


async def test_alert_after_is_configurable(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    poller, alerts = alerting_poller(tmp_path, server, http, storage, admin={"alert_after": "0m"})
    assert poller().config.alert_after == timedelta(0)
    server.put_netflix(netflix.GLOBAL_FILE, "null")
    with time_machine.travel(NOW, tick=False):
        for _ in range(FAILED_POLLS_BEFORE_ALERT):
            await poller().poll("netflix")
    assert len(alerts) == 1  # without a time rule: the third failed poll in a row


async def test_a_crashing_source_costs_one_failed_poll(
    tmp_path: Path,
    server: SourceServer,
    http: AiohttpClient,
    storage: Storage,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(self: NetflixSource, context: object) -> AsyncIterator[SourceItem]:
        yield Fetched(server.base_url)  # the body came; its parser then failed
        raise RuntimeError("parser bug")

    monkeypatch.setattr(NetflixSource, "poll", broken)
    config = load_config(write_config(tmp_path, server))
    poller = Poller(storage, load_poll_config(config), config.diff, http=http)
    report = await poller.poll("netflix")
    assert report.failed and report.error == "RuntimeError: parser bug"
    assert report.summary_line() == (
        "netflix: 0 charts accepted, 0 rejected, 0 events (error: RuntimeError: parser bug)"
    )


async def test_old_events_of_a_first_poll_arrive_as_one_summary(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
    config = load_config(write_config(tmp_path, server))
    fresh: list[Event] = []
    summaries: list[CatchupSummary] = []

    async def events(new: list[Event]) -> None:
        fresh.extend(new)

    async def catchup(summary: CatchupSummary) -> None:
        summaries.append(summary)

    poller = Poller(
        storage,
        load_poll_config(config),
        config.diff,
        http=http,
        output=PollOutput(events=events, catchup=catchup),
        clock=lambda: NOW,
    )
    report = await poller.poll("netflix")
    # Weeks up to 2026-07-12 are history; the week ending 2026-07-19 is news on 2026-07-22.
    assert len(summaries) == 1
    assert max(e.period for e in summaries[0].events) == date(2026, 7, 12)
    assert {e.period for e in fresh} == {date(2026, 7, 19)}
    assert len(summaries[0].events) + len(fresh) == report.events


# --- CLI ----------------------------------------------------------------------------------


async def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    # main() runs its own event loop: give it a thread so this test's loop keeps serving HTTP.
    code = await asyncio.to_thread(main, args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_poll_once_prints_a_summary_line_and_exit_status(
    tmp_path: Path, server: SourceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
    config_path = str(write_config(tmp_path, server))

    code, out, _ = await run_cli(["--config", config_path, "poll", "--once"], capsys)
    assert code == 0
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("netflix: 48 charts accepted, 0 rejected, ")

    code, out, _ = await run_cli(["--config", config_path, "poll", "--once"], capsys)
    assert code == 0
    assert out.strip().splitlines()[-1] == (
        "netflix: 0 charts accepted, 0 rejected, 0 events (1 unchanged)"
    )

    server.put_netflix(netflix.GLOBAL_FILE, "null")
    code, out, err = await run_cli(
        ["--config", config_path, "poll", "--once", "--source", "netflix"], capsys
    )
    assert code == 1
    assert out.strip().splitlines()[-1] == "netflix: 0 charts accepted, 4 rejected, 0 events"
    assert err.splitlines()[-1].startswith(
        "netflix: 4 charts rejected: body is `null` (netflix/netflix/WORLD/Films (English)/weekly@"
    )

    # The same broken file again: answered 304, refused again unread, still exit 1.
    code, out, err = await run_cli(["--config", config_path, "poll", "--once"], capsys)
    assert code == 1
    assert out.strip().splitlines()[-1] == "netflix: 0 charts accepted, 4 rejected, 0 events"
    assert "unchanged since refused: body is `null`" in err
    assert server.hits[-1].status == 304


async def subscribe(url: str, spec: SubscriptionSpec) -> None:
    """Chat 1 on Telegram subscribes in the store at `url`."""
    backend = await open_backend(url)
    try:
        await backend.subscriptions.add_subscription(Destination("telegram", "1"), spec)
    finally:
        await backend.close()


async def test_poll_once_queues_the_deliveries_of_what_it_stores(
    tmp_path: Path, server: SourceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`poll --once` from cron stores live events and their deliveries in one transaction, so a
    later `run` (or `deliveries send`) has them to send."""
    server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
    config_path = write_config(tmp_path, server)
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    await subscribe(url, SubscriptionSpec(service="netflix", region=WORLD, details=True))

    code, _, _ = await run_cli(["--config", str(config_path), "poll", "--once"], capsys)
    assert code == 0

    backend = await open_backend(url)
    try:
        stored = await backend.recent_events(limit=100_000)
        pending = (await backend.outbox.counts()).pending
    finally:
        await backend.close()
    assert stored and pending == len(stored)  # every event of the global file is WORLD
    code, out, _ = await run_cli(["--config", str(config_path), "deliveries", "status"], capsys)
    assert code == 0
    assert out.splitlines()[0].startswith(f"deliveries: {pending} pending, ")


async def test_a_poll_first_finishes_the_queueing_a_dead_process_left(
    tmp_path: Path, server: SourceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A live event stored and still marked as being queued (its process died before its
    deliveries were all in): the next poll queues them before it polls."""
    server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
    config_path = write_config(tmp_path, server)
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    await subscribe(url, SubscriptionSpec(region="NL", details=True))
    backend = await open_backend(url)
    try:
        assert isinstance(backend, SqliteBackend)
        await backend.save_batch(Batch(events=[event(date(2026, 7, 21))]), queue_deliveries=False)
        await backend.database.execute(
            "INSERT INTO unqueued_events (event_id) SELECT id FROM events"
        )
    finally:
        await backend.close()

    code, _, _ = await run_cli(["--config", str(config_path), "poll", "--once"], capsys)
    assert code == 0

    backend = await open_backend(url)
    try:
        # The global file's events are worldwide: only the marked Dutch event is this chat's.
        assert (await backend.outbox.counts()).pending == 1
        assert await backend.queue_unfinished() == 0
    finally:
        await backend.close()


async def test_poll_once_fails_on_a_fetch_failure(
    tmp_path: Path, server: SourceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script(GLOBAL_PATH, *([Reply(503, "down")] * 3))
    config_path = str(write_config(tmp_path, server))
    code, out, err = await run_cli(["--config", config_path, "poll", "--once"], capsys)
    assert code == 1
    assert out == ""  # nothing came: the one line says why
    url = f"{server.netflix_base.rstrip('/')}/{netflix.GLOBAL_FILE}"
    assert err == f"netflix: fetch failed: HTTP 503 Service Unavailable ({url})\n"


async def test_poll_names_an_unknown_source(
    tmp_path: Path, server: SourceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = str(write_config(tmp_path, server))
    code, _, err = await run_cli(
        ["--config", config_path, "poll", "--once", "--source", "hulu"], capsys
    )
    assert code == 2
    assert "unknown source 'hulu'" in err


async def test_status_shows_accepted_and_rejected_periods_and_next_poll(
    tmp_path: Path,
    server: SourceServer,
    http: AiohttpClient,
    storage: Storage,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
    config_path = write_config(tmp_path, server)
    config = load_config(config_path)
    poller = Poller(storage, load_poll_config(config), config.diff, http=http, clock=lambda: NOW)
    await poller.poll("netflix")
    key = ChartKey("netflix", "netflix", WORLD, "TV (English)", "weekly")
    assert (await storage.latest_chart(key)) is not None
    server.put_netflix(netflix.GLOBAL_FILE, "null")
    await poller.poll("netflix")

    statuses = await collect_status(
        storage, load_poll_config(config), now=NOW + timedelta(minutes=1), next_fire=next_fire_time
    )
    netflix_status = statuses[0]
    assert netflix_status.name == "netflix" and netflix_status.enabled
    assert netflix_status.next_run == datetime(2026, 7, 22, 20, 0, tzinfo=UTC)
    assert netflix_status.last_poll is not None and not netflix_status.last_poll.ok
    tv = next(c for c in netflix_status.charts if c.key == key)
    assert tv.last_accepted == date(2026, 7, 19)
    assert tv.last_rejected is not None and tv.rejected_reason == "body is `null`"
    lines = format_status(statuses)
    assert "  next poll: 2026-07-22 20:00 UTC" in lines
    assert "  publication window: tue 15:00-24:00 UTC, every 60s until the new data is in" in lines
    assert any(
        line.startswith("  netflix/WORLD/TV (English)/weekly: accepted 2026-07-19; rejected")
        and "body is `null`" in line
        for line in lines
    )
    assert "flixpatrol (disabled; schedule 0 6 * * * UTC)" in lines

    code, out, _ = await run_cli(["--config", str(config_path), "status"], capsys)
    assert code == 0
    assert "netflix (enabled; schedule 0 14 * * *, 0 20 * * * UTC)" in out
    assert "FAILED (1 in a row)" in out
    assert "rejected 2026-07-19: body is `null`" in out
    assert io.StringIO(out).readline().startswith("netflix")


# --- routing: operator alerts and catch-up summaries --------------------------------------


class RecordingNotifier:
    text_limit = 4096

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.sent: list[tuple[str, str]] = []

    def text_length(self, text: str) -> int:
        return len(text)

    async def send(
        self, destination: str, text: str, *, idempotency_key: str | None = None
    ) -> None:
        self.sent.append((destination, text))


async def test_operator_alerts_go_to_the_admin_chat_or_stderr() -> None:
    telegram, console = RecordingNotifier("telegram"), RecordingNotifier("console")
    await operator_sink("telegram:-1001", [telegram, console])("source down")
    assert telegram.sent == [("-1001", "source down")] and console.sent == []

    await operator_sink(None, [telegram, console])("to the console")
    assert console.sent == [("console", "to the console")]

    stderr = io.StringIO()
    await operator_sink("discord:42", [telegram, console], fallback=stderr)("no discord")
    assert stderr.getvalue() == "no discord\n"
    await operator_sink(None, [], fallback=stderr)("nobody at all")
    assert stderr.getvalue().endswith("nobody at all\n")


async def test_poll_without_once_catches_up_then_keeps_polling(
    tmp_path: Path, server: SourceServer, storage: Storage
) -> None:
    server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
    config = load_config(write_config(tmp_path, server))
    reported = asyncio.Event()
    lines: list[str] = []

    async def on_report(report: SourceReport) -> None:
        lines.append(report.summary_line())
        reported.set()

    polling = asyncio.create_task(
        poll_on_schedule(
            config, storage, ProcessPollerLock(), output=PollOutput(), on_report=on_report
        )
    )
    await reported.wait()
    assert not polling.done()  # it goes on polling on the schedule
    polling.cancel()
    await asyncio.gather(polling, return_exceptions=True)
    assert len(lines) == 1 and lines[0].startswith("netflix: 48 charts accepted, 0 rejected, ")

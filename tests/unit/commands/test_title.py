"""/title: ranks, streaks, records, and the button that subscribes to the show."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.commands import CommandService, decode_button
from bot.subscriptions import SubscriptionSpec
from tests.unit.commands.command_helpers import GROUP, Clock, charts_2022, member, run, service_with


async def test_title_tells_ranks_streaks_and_records(service: CommandService) -> None:
    reply = await run(service, "/title Sqiud Gmae")  # swapped letters still find it
    assert reply.ok and reply.title == "Squid Game"
    names = [field.name for field in reply.fields]
    assert names[:2] == ["Worldwide", "Now in the Top 10"]  # worldwide facts lead
    fields = {field.name: field.value for field in reply.fields}
    assert fields["Worldwide"] == (
        "Squid Game: Season 1 — Netflix TV (Non-English): #1 for 9 weeks, "
        "10 weeks in the Top 10, 2.13B hours, now #3"
    )
    now = fields["Now in the Top 10"].split("\n")
    assert now[:2] == [
        "🌍 Netflix · Worldwide · TV (Non-English): #3 (10 weeks in the Top 10)",
        "🇯🇵 Netflix · Japan · TV: #1 (9 weeks at #1 · 10 weeks in the Top 10)",
    ]
    assert len(now) == 6
    assert fields["Countries at #1"] == "Netflix · TV: 1 country of 5 in the Top 10"
    assert fields["Best rank"].startswith("#1 — first in Netflix · South Korea · TV")


async def test_title_orders_records_by_importance(service: CommandService) -> None:
    reply = await run(service, "/title squid game")
    records = {f.name: f.value for f in reply.fields}["Records held"].split("\n")
    # Worldwide first, then across countries, then single countries by size (not ISO code); each
    # chart's record says since when its history runs.
    assert records == [
        "longest run at #1 — Netflix · Worldwide · TV (Non-English): 9 weeks"
        " (since September 2021)",
        "most hours viewed in one week — Netflix · Worldwide · TV (Non-English): 571.8M hours"
        " (since September 2021)",
        "most countries at #1 in one period — Netflix · TV: 5 countries",
        "longest run at #1 — Netflix · Japan · TV: 9 weeks (since September 2021)",
        "longest run at #1 — Netflix · Germany · TV: 8 weeks (since September 2021)",
        "longest run at #1 — Netflix · South Korea · TV: 4 weeks (since September 2021)",
        "longest run at #1 — Netflix · United States · TV: 4 weeks (since September 2021)",
        "longest run at #1 — Netflix · United Kingdom · TV: 3 weeks (since September 2021)",
    ]


async def test_title_is_current_wherever_the_latest_chart_has_it() -> None:
    """The 2022 weeks: the worldwide list and four countries. "All of Us Are Dead" is in the
    latest period of each; the charts are 4 years old on the clock, and the answer says so."""
    service = await service_with(charts_2022(), Clock(datetime(2026, 12, 6, tzinfo=UTC)))
    reply = await run(service, "/title all of us are dead")
    now = {f.name: f.value for f in reply.fields}["Now in the Top 10"].split("\n")
    assert now[0].startswith("🌍 Netflix · Worldwide · TV (Non-English): #1")
    assert "🇰🇷 Netflix · South Korea · TV: #5 (3 weeks in the Top 10)" in now
    assert len(now) == 5
    assert "⚠️ chart of 2022-02-27 — 4 years old" in reply.footer
    assert "source not polled yet" in reply.footer


async def test_title_button_subscribes_to_the_show(service: CommandService) -> None:
    reply = await run(service, "/title Squid Game")
    (button,) = reply.buttons
    decoded = decode_button(button.payload())
    assert decoded is not None
    assert len(button.payload().encode()) <= 64  # Telegram's callback_data limit
    name, arguments = decoded
    subscribed = await service.execute(name, arguments, member())
    assert subscribed.ok and subscribed.title.startswith("Subscribed #")
    (stored,) = await service.subscriptions.subscriptions_of(GROUP)
    assert stored.spec == SubscriptionSpec(show="squid game", show_title="Squid Game")


async def test_unknown_title_suggests_close_ones(service: CommandService) -> None:
    reply = await run(service, "/title Hellbond")
    assert reply.ok and reply.title == "Hellbound"  # close enough: taken
    missing = await run(service, "/title Qwxyz Plmkj")
    assert not missing.ok and missing.title == "No title matches 'Qwxyz Plmkj'"
    unclear = await run(service, "/title love")  # many shows start so: a question, not a guess
    assert not unclear.ok and unclear.title == "Which title is 'love'?"
    assert {"Love Hard", "Love 101"} <= set(unclear.suggestions)


async def test_decode_button_refuses_foreign_payloads() -> None:
    assert decode_button("other|subscribe|title=x") is None
    assert decode_button("t10|drop_tables|") is None
    assert decode_button("t10|subscribe|broken") is None


async def test_a_chart_behind_the_others_says_its_period() -> None:
    # Korea's last week is missing: its latest chart is a week older than the others.
    charts = [
        c for c in charts_2022() if not (c.key.region == "KR" and c.period == date(2022, 2, 27))
    ]
    service = await service_with(charts, Clock(datetime(2022, 3, 2, tzinfo=UTC)))
    reply = await run(service, "/title all of us are dead")
    fields = {f.name: f.value for f in reply.fields}
    now = fields["Now in the Top 10"].split("\n")
    (korea,) = [line for line in now if "South Korea" in line]
    assert korea.endswith(" — week ending 2022-02-20")
    assert not any(line.endswith("2022-02-27") for line in now)

"""An event's jsonl text is exactly what orjson writes for its fields, whatever its texts hold:
checked against orjson.dumps of the documented object, on random texts."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.events import Event, EventType, Record, RecordHolder
from bot.models import ChartKey

# Texts that JSON quotes as they are, and texts it escapes (quotes, backslashes, controls,
# separators, non-ASCII).
texts = st.one_of(
    st.text(max_size=12),
    st.text(alphabet='ab "\\\n\t\x00\x1f\x7f\u2028\u00e9\U0001f600:', max_size=8),
    st.sampled_from(["Squid Game", "Squid Game: Season 2", "squid game|season 2", ""]),
)
numbers = st.one_of(st.none(), st.integers(min_value=-5, max_value=10**12))


def expected_json(event: Event) -> bytes:
    chart = event.chart
    data: dict[str, Any] = {
        "key": event.key,
        "type": event.type.value,
        "source": chart.source,
        "service": chart.service,
        "region": chart.region,
        "category": chart.category,
        "granularity": chart.granularity,
        "period": event.period.isoformat(),
        "title": event.title,
        "season": event.season,
        "title_id": event.title_id,
    }
    if event.rank is not None or event.previous_rank is not None:
        data["rank"] = event.rank
        data["previous_rank"] = event.previous_rank
    if event.value is not None:
        data["value"] = event.value
        data["unit"] = event.unit
    if event.total_regions is not None:
        data["total_regions"] = event.total_regions
    if event.record is not None:
        data["record"] = event.record.value
        data["previous"] = event.previous.to_json() if event.previous else None
    if event.qualifier:
        data["qualifier"] = event.qualifier
    return orjson.dumps(data)


@settings(max_examples=400, deadline=None)
@given(
    event_type=st.sampled_from(list(EventType)),
    category=texts,
    title_id=texts,
    title=texts,
    season=st.one_of(st.none(), texts),
    rank=numbers,
    previous_rank=numbers,
    value=numbers,
    unit=st.one_of(st.none(), texts),
    total_regions=numbers,
    record=st.one_of(st.none(), st.sampled_from(list(Record))),
    qualifier=texts,
)
def test_jsonl_text_is_what_orjson_writes(
    event_type: EventType,
    category: str,
    title_id: str,
    title: str,
    season: str | None,
    rank: int | None,
    previous_rank: int | None,
    value: int | None,
    unit: str | None,
    total_regions: int | None,
    record: Record | None,
    qualifier: str,
) -> None:
    chart = ChartKey("netflix", "netflix", "KR", category, "weekly")
    previous = RecordHolder("Old", None, 3, date(2024, 1, 7)) if record is not None else None
    event = Event(
        event_type,
        chart,
        date(2024, 3, 3),
        title_id,
        title,
        season,
        rank,
        previous_rank,
        value,
        unit,
        total_regions,
        record,
        previous,
        qualifier,
    )
    assert event.to_json_bytes() == expected_json(event)


def test_a_plain_event_and_one_that_needs_escaping() -> None:
    chart = ChartKey("netflix", "netflix", "KR", "TV", "weekly")
    plain = Event(EventType.ENTERED, chart, date(2024, 3, 3), "kitz", "Kitz", None, rank=9)
    assert plain.to_json_bytes() == (
        b'{"key":"entered:netflix:netflix:KR:TV:weekly:2024-03-03:kitz","type":"entered",'
        b'"source":"netflix","service":"netflix","region":"KR","category":"TV",'
        b'"granularity":"weekly","period":"2024-03-03","title":"Kitz","season":null,'
        b'"title_id":"kitz","rank":9,"previous_rank":null}'
    )
    quoted = Event(EventType.ENTERED, chart, date(2024, 3, 3), 'say "hi"', 'Say "Hi"', "Été")
    assert quoted.to_json_bytes() == expected_json(quoted)
    assert b'"title":"Say \\"Hi\\""' in quoted.to_json_bytes()

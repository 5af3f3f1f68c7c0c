"""FlixPatrol page parser: real pages, constructed Netflix pages, and the ways pages break."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import WORLD, Chart, ChartKey, Entry
from bot.sources.errors import SourceError
from bot.sources.flixpatrol import PageRequest, flixpatrol_url, parse_flixpatrol_page

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "flixpatrol"

US_DAY = date(2026, 8, 21)
NL_DAY = date(2026, 3, 10)


def page(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def streaming_us(day: date = US_DAY) -> PageRequest:
    return PageRequest("streaming", None, "US", day)


def netflix(region: str = "NL", day: date = NL_DAY) -> PageRequest:
    return PageRequest("service", "netflix", region, day)


def by_category(charts: list[Chart]) -> dict[str, Chart]:
    result = {chart.key.category: chart for chart in charts}
    assert len(result) == len(charts), "two charts share a category"
    return result


def ranks(chart: Chart) -> list[int]:
    return [entry.rank for entry in chart.entries]


def title_ids(chart: Chart) -> list[str]:
    return [entry.title_id for entry in chart.entries]


# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "region", "day", "url"),
    [
        ("netflix", "KR", date(2022, 2, 12), "/top10/netflix/south-korea/2022-02-12/"),
        ("netflix", WORLD, date(2022, 2, 12), "/top10/netflix/world/2022-02-12/"),
        (None, "US", US_DAY, "/top10/streaming/united-states/2026-08-21/"),
        ("hbo-max", "SV", date(2025, 1, 2), "/top10/hbo-max/salvador/2025-01-02/"),
        ("disney", "cz", date(2024, 12, 31), "/top10/disney/czech-republic/2024-12-31/"),
    ],
)
def test_flixpatrol_url(service: str | None, region: str, day: date, url: str) -> None:
    assert flixpatrol_url("https://flixpatrol.com", service, region, day) == (
        "https://flixpatrol.com" + url
    )
    assert flixpatrol_url("http://127.0.0.1:8080/", service, region, day) == (
        "http://127.0.0.1:8080" + url
    )


def test_flixpatrol_url_refuses_an_unknown_region() -> None:
    with pytest.raises(ValueError, match="no FlixPatrol country slug"):
        flixpatrol_url("https://flixpatrol.com", "netflix", "ZZ", US_DAY)


def test_page_request_kind_and_service_must_agree() -> None:
    with pytest.raises(ValueError, match="needs a service"):
        PageRequest("service", None, "US", US_DAY)
    with pytest.raises(ValueError, match="every service"):
        PageRequest("streaming", "netflix", "US", US_DAY)


# --- real pages -----------------------------------------------------------------------------


def test_real_apple_tv_streaming_page() -> None:
    charts = parse_flixpatrol_page(page("flixpatrol-us-apple-tv.html"), streaming_us())

    assert [chart.key for chart in charts] == [
        ChartKey("flixpatrol", "apple-tv", "US", "Movies", "daily"),
        ChartKey("flixpatrol", "apple-tv", "US", "TV Shows", "daily"),
        ChartKey("flixpatrol", "apple-tv", "US", "Overall (Amazon Channels)", "daily"),
    ]
    for chart in charts:
        assert chart.period == US_DAY
        assert chart.parse_error is None
        assert chart.expected_size == 10
        assert ranks(chart) == list(range(1, 11))

    movies, shows, overall = charts
    assert movies.entries[0] == Entry(
        rank=1, title_id="fp:the-dink", title="The Dink", days_in_top10=28
    )
    assert movies.entries[9] == Entry(
        rank=10,
        title_id="fp:et-the-extra-terrestrial",
        title="E.T. the Extra-Terrestrial",
        days_in_top10=7,
    )
    assert shows.entries[7] == Entry(
        rank=8, title_id="fp:sugar-2024", title="Sugar", days_in_top10=181
    )
    assert [entry.title for entry in overall.entries][5] == "Your Friends & Neighbors"
    # The last row of the Overall list has an empty days cell.
    assert overall.entries[9].title_id == "fp:trying"
    assert overall.entries[9].days_in_top10 is None
    assert all(entry.points is None for chart in charts for entry in chart.entries)


def test_change_badges_are_kept_per_rank() -> None:
    movies, shows, overall = parse_flixpatrol_page(
        page("flixpatrol-us-apple-tv.html"), streaming_us()
    )
    assert [movies.extra[f"change:{rank}"] for rank in range(1, 11)] == [
        "0", "0", "0", "+1", "-1", "0", "+2", "-1", "-1", "0"
    ]  # fmt: skip
    assert shows.extra["change:10"] == "new"
    assert overall.extra["change:7"] == "-2"


def test_poster_link_does_not_count_number_one_twice() -> None:
    html = page("flixpatrol-us-apple-tv.html")
    # The trap is present: the #1 of Movies is linked by its poster and by its row.
    assert html.count('href="/title/the-dink/"') == 3  # poster, Movies row, Overall row
    movies = parse_flixpatrol_page(html, streaming_us())[0]
    assert title_ids(movies).count("fp:the-dink") == 1
    assert movies.rows == 10
    assert len(set(title_ids(movies))) == 10


def test_real_crunchyroll_page() -> None:
    (chart,) = parse_flixpatrol_page(page("flixpatrol-us-crunchyroll.html"), streaming_us())
    assert chart.key == ChartKey(
        "flixpatrol", "crunchyroll", "US", "Overall (Amazon Channels)", "daily"
    )
    assert chart.rows == 10
    assert chart.parse_error is None
    assert chart.entries[0].title == "Clevatess"
    assert chart.entries[9] == Entry(
        rank=10,
        title_id="fp:rezero-starting-life-in-another-world-",
        title="Re:ZERO -Starting Life in Another World-",
        days_in_top10=10,
    )
    assert [chart.extra[f"change:{rank}"] for rank in (1, 2, 3, 8, 9)] == [
        "0",
        "new",
        "+7",
        "-5",
        "-7",
    ]


def test_real_channels_only_page_on_its_own_day() -> None:
    (chart,) = parse_flixpatrol_page(
        page("flixpatrol-us-apple-tv-channels-only.html"), streaming_us(date(2026, 8, 22))
    )
    assert chart.key.service == "apple-tv"
    assert chart.key.category == "Overall (Amazon Channels)"
    assert chart.parse_error is None
    assert chart.number_one() == Entry(rank=1, title_id="fp:silo", title="Silo", days_in_top10=49)


def test_real_page_for_another_day_is_flagged() -> None:
    # The channels-only page says August 22; asking for August 21 is a redirect to another day.
    (chart,) = parse_flixpatrol_page(
        page("flixpatrol-us-apple-tv-channels-only.html"), streaming_us()
    )
    assert chart.period == US_DAY
    assert chart.parse_error == "page is for 2026-08-22, asked for 2026-08-21"
    assert chart.rows == 10  # the rows are kept; the gate decides


def test_heading_without_lists_yields_no_chart() -> None:
    # Both real Apple TV pages end with an "Apple TV Store TOP 10 …" heading and no list.
    charts = parse_flixpatrol_page(page("flixpatrol-us-apple-tv.html"), streaming_us())
    assert {chart.key.service for chart in charts} == {"apple-tv"}


def test_service_page_keeps_only_the_requested_service() -> None:
    html = page("flixpatrol-us-apple-tv.html")
    charts = parse_flixpatrol_page(html, PageRequest("service", "apple-tv", "US", US_DAY))
    assert [chart.key.service for chart in charts] == ["apple-tv"] * 3

    with pytest.raises(SourceError, match="no list of netflix on the page, only of Apple TV"):
        parse_flixpatrol_page(html, PageRequest("service", "netflix", "US", US_DAY))


def test_unknown_service_heading_is_stored_under_a_hyphenated_slug() -> None:
    html = page("flixpatrol-us-crunchyroll.html").replace("Crunchyroll TOP 10", "Hidive TOP 10")
    (chart,) = parse_flixpatrol_page(html, streaming_us())
    assert chart.key.service == "hidive"
    plus = page("flixpatrol-us-crunchyroll.html").replace("Crunchyroll TOP 10", "AMC+ TOP 10")
    assert parse_flixpatrol_page(plus, streaming_us())[0].key.service == "amc-plus"


# --- constructed Netflix pages --------------------------------------------------------------


def test_netflix_country_page() -> None:
    charts = by_category(
        parse_flixpatrol_page(page("netflix-netherlands-2026-03-10.html"), netflix())
    )

    assert list(charts) == ["Movies", "TV Shows", "Kids Movies", "Kids TV Shows"]
    for category, chart in charts.items():
        assert chart.key == ChartKey("flixpatrol", "netflix", "NL", category, "daily")
        assert chart.period == NL_DAY
        assert chart.parse_error is None
        assert ranks(chart) == list(range(1, 11))
        assert all(entry.title_id.startswith("fp:") for entry in chart.entries)

    movies = charts["Movies"]
    assert movies.entries[0] == Entry(
        rank=1, title_id="fp:war-machine-2026", title="War Machine", days_in_top10=5
    )
    assert movies.entries[8] == Entry(
        rank=9, title_id="fp:pixels", title="Pixels", days_in_top10=None
    )
    assert movies.extra["change:9"] == "new"
    assert movies.extra["change:10"] == "-3"

    kids_shows = charts["Kids TV Shows"]
    titles = [entry.title for entry in kids_shows.entries]
    assert "Pokémon Horizons: The Series" in titles
    assert "Miraculous: Tales of Ladybug & Cat Noir" in titles
    assert "Gabby's Dollhouse" in titles
    assert kids_shows.entries[0].days_in_top10 == 410


def test_netflix_world_page_has_points() -> None:
    charts = by_category(
        parse_flixpatrol_page(page("netflix-world-2026-03-10.html"), netflix(WORLD))
    )
    assert list(charts) == ["Movies", "TV Shows"]
    movies = charts["Movies"]
    assert movies.key == ChartKey("flixpatrol", "netflix", WORLD, "Movies", "daily")
    assert movies.parse_error is None
    assert movies.entries[0] == Entry(
        rank=1, title_id="fp:war-machine-2026", title="War Machine", points=812
    )
    assert [entry.points for entry in movies.entries] == [
        812,
        534,
        401,
        388,
        297,
        250,
        231,
        187,
        160,
        142,
    ]
    assert all(entry.days_in_top10 is None for entry in movies.entries)
    assert movies.extra == {}  # world rows have no change badge
    assert charts["TV Shows"].entries[7].title == "A Friend, a Murderer"


def test_world_points_with_thousands_separator() -> None:
    html = page("netflix-world-2026-03-10.html").replace(">812</td>", ">1,012</td>")
    movies = parse_flixpatrol_page(html, netflix(WORLD))[0]
    assert movies.entries[0].points == 1012


def test_country_page_asked_for_the_world_is_flagged() -> None:
    charts = parse_flixpatrol_page(page("netflix-netherlands-2026-03-10.html"), netflix(WORLD))
    assert all(
        chart.parse_error == "page is for NL (the Netherlands), asked for WORLD" for chart in charts
    )


def test_page_for_another_day_and_country_names_both() -> None:
    charts = parse_flixpatrol_page(
        page("netflix-netherlands-2026-03-10.html"), netflix("GB", date(2026, 3, 11))
    )
    assert charts[0].key.region == "GB"
    assert charts[0].period == date(2026, 3, 11)
    assert charts[0].parse_error == (
        "page is for 2026-03-10, asked for 2026-03-11; "
        "page is for NL (the Netherlands), asked for GB"
    )


def test_page_without_any_date_is_flagged() -> None:
    html = page("netflix-netherlands-2026-03-10.html").replace(
        "<title>TOP 10 on Netflix in the Netherlands on March 10, 2026 • FlixPatrol</title>",
        "<title>FlixPatrol</title>",
    )
    charts = parse_flixpatrol_page(html, netflix())
    assert charts[0].parse_error == "page names no date, asked for 2026-03-10"


# --- broken lists: returned short, never raised ---------------------------------------------


def test_empty_table_gives_an_empty_chart() -> None:
    charts = by_category(parse_flixpatrol_page(page("empty-table.html"), netflix()))
    assert charts["Movies"].rows == 10
    assert charts["TV Shows"].rows == 0
    assert charts["TV Shows"].entries == ()


def test_truncated_table_gives_a_short_flagged_chart() -> None:
    charts = by_category(parse_flixpatrol_page(page("truncated-table.html"), netflix()))
    assert charts["Movies"].rows == 10
    assert charts["Movies"].parse_error is None
    shows = charts["TV Shows"]
    assert ranks(shows) == [1, 2, 3, 4]
    assert shows.parse_error == "page is cut off (no closing </html>)"


def test_markup_variation_parses_like_the_plain_page() -> None:
    plain = by_category(
        parse_flixpatrol_page(page("netflix-netherlands-2026-03-10.html"), netflix())
    )
    varied = by_category(parse_flixpatrol_page(page("markup-variation.html"), netflix()))
    assert list(varied) == ["Movies", "TV Shows"]
    for category, chart in varied.items():
        assert chart.parse_error is None
        assert chart.entries == plain[category].entries
        assert chart.extra == plain[category].extra


def test_list_heading_without_a_table_is_kept_as_a_flagged_chart() -> None:
    html = page("empty-table.html")
    start = html.rindex('<table class="card-table">')
    end = html.index("</table>", start) + len("</table>")
    charts = by_category(parse_flixpatrol_page(html[:start] + html[end:], netflix()))
    assert charts["Movies"].rows == 10
    assert charts["TV Shows"].rows == 0
    assert charts["TV Shows"].parse_error == "no table after 'TOP 10 TV Shows'"


def test_row_without_title_link_is_skipped_and_reported() -> None:
    html = page("flixpatrol-us-apple-tv.html").replace(
        '<a href="/title/looper/" class="hover:underline">Looper</a>', "Looper"
    )
    movies = parse_flixpatrol_page(html, streaming_us())[0]
    assert ranks(movies) == [1, 2, 4, 5, 6, 7, 8, 9, 10]
    assert movies.parse_error == "rank 3: no /title/ link"


def test_absolute_title_links_are_accepted() -> None:
    html = page("flixpatrol-us-crunchyroll.html").replace(
        'href="/title/black-torch/" class="hover:underline"',
        'href="https://flixpatrol.com/title/black-torch/" class="hover:underline"',
    )
    (chart,) = parse_flixpatrol_page(html, streaming_us())
    assert chart.entries[7].title_id == "fp:black-torch"


# --- pages that are not charts --------------------------------------------------------------


def test_page_not_found_served_with_200_raises() -> None:
    with pytest.raises(SourceError, match="Page Not Found") as caught:
        parse_flixpatrol_page(page("page-not-found.html"), netflix())
    assert caught.value.source == "flixpatrol"
    assert caught.value.what == "netflix/NL/2026-03-10"


def test_cloudflare_challenge_raises() -> None:
    with pytest.raises(SourceError, match="Cloudflare challenge"):
        parse_flixpatrol_page(page("cloudflare-challenge.html"), netflix())


def test_challenge_is_recognised_by_its_markers_without_its_title() -> None:
    html = page("cloudflare-challenge.html").replace("Just a moment...", "flixpatrol.com")
    with pytest.raises(SourceError, match="challenge markers"):
        parse_flixpatrol_page(html, netflix())


def test_challenge_script_on_a_real_chart_page_is_not_a_challenge() -> None:
    # Cloudflare also injects its challenge-platform script into pages it lets through.
    script = "<script src='/cdn-cgi/challenge-platform/scripts/jsd/main.js'></script></body>"
    html = page("flixpatrol-us-crunchyroll.html").replace("</body>", script)
    (chart,) = parse_flixpatrol_page(html, streaming_us())
    assert chart.rows == 10


def test_page_without_top10_lists_raises() -> None:
    with pytest.raises(SourceError, match="no Top 10 list on the page"):
        parse_flixpatrol_page(page("no-top10-lists.html"), netflix())


@pytest.mark.parametrize("body", ["", "null", "   \n", "<html><body></body></html>"])
def test_tiny_bodies_raise(body: str) -> None:
    with pytest.raises(SourceError, match="body far too small"):
        parse_flixpatrol_page(body, netflix())


def test_tsv_where_html_was_expected_raises() -> None:
    tsv = "week\tcategory\tweekly_rank\tshow_title\n" + "2026-03-15\tTV\t1\tONE PIECE\n" * 100
    with pytest.raises(SourceError, match="no Top 10 list"):
        parse_flixpatrol_page(tsv, netflix())


# --- a body cut at any point ----------------------------------------------------------------

FULL_APPLE_TV = page("flixpatrol-us-apple-tv.html")
FULL_CHARTS = {chart.key: chart for chart in parse_flixpatrol_page(FULL_APPLE_TV, streaming_us())}


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(FULL_APPLE_TV)))
def test_a_body_cut_anywhere_never_yields_a_wrong_accepted_list(cut: int) -> None:
    """A cut connection either raises SourceError or gives lists that are whole, or flagged
    (the last one), or short — never a full-looking list with a half-written title."""
    try:
        charts = parse_flixpatrol_page(FULL_APPLE_TV[:cut], streaming_us())
    except SourceError:
        return
    for chart in charts[:-1]:
        assert chart == FULL_CHARTS[chart.key]
        assert chart.entries == FULL_CHARTS[chart.key].entries
    last = charts[-1]
    if last.parse_error is None:
        assert last.entries == FULL_CHARTS[last.key].entries

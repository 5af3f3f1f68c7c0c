"""Region codes, names, flags, FlixPatrol country slugs and service names."""

from __future__ import annotations

from pathlib import Path

import pycountry
import pytest

from bot.models import WORLD
from bot.sources.regions import (
    flixpatrol_slug,
    region_flag,
    region_from_flixpatrol_slug,
    region_name,
    resolve_region,
    suggest_regions,
)
from bot.sources.services import (
    FLIXPATROL_SERVICES,
    service_display_name,
    service_from_display_name,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "flixpatrol"

# The 94 (country_name, country_iso2) pairs of Netflix's all-weeks-countries.tsv
# (`cut -f1,2 | sort -u` of shared/data/netflix/all-weeks-countries.tsv), with the FlixPatrol slug
# each must map to (FlixPatrol location list of a public scraper; docs/sources.md §2 quirks).
NETFLIX_COUNTRIES: list[tuple[str, str, str]] = [
    ("Argentina", "AR", "argentina"),
    ("Australia", "AU", "australia"),
    ("Austria", "AT", "austria"),
    ("Bahamas", "BS", "bahamas"),
    ("Bahrain", "BH", "bahrain"),
    ("Bangladesh", "BD", "bangladesh"),
    ("Belgium", "BE", "belgium"),
    ("Bolivia", "BO", "bolivia"),
    ("Brazil", "BR", "brazil"),
    ("Bulgaria", "BG", "bulgaria"),
    ("Canada", "CA", "canada"),
    ("Chile", "CL", "chile"),
    ("Colombia", "CO", "colombia"),
    ("Costa Rica", "CR", "costa-rica"),
    ("Croatia", "HR", "croatia"),
    ("Cyprus", "CY", "cyprus"),
    ("Czech Republic", "CZ", "czech-republic"),
    ("Denmark", "DK", "denmark"),
    ("Dominican Republic", "DO", "dominican-republic"),
    ("Ecuador", "EC", "ecuador"),
    ("Egypt", "EG", "egypt"),
    ("El Salvador", "SV", "salvador"),
    ("Estonia", "EE", "estonia"),
    ("Finland", "FI", "finland"),
    ("France", "FR", "france"),
    ("Germany", "DE", "germany"),
    ("Greece", "GR", "greece"),
    ("Guadeloupe", "GP", "guadeloupe"),
    ("Guatemala", "GT", "guatemala"),
    ("Honduras", "HN", "honduras"),
    ("Hong Kong", "HK", "hong-kong"),
    ("Hungary", "HU", "hungary"),
    ("Iceland", "IS", "iceland"),
    ("India", "IN", "india"),
    ("Indonesia", "ID", "indonesia"),
    ("Ireland", "IE", "ireland"),
    ("Israel", "IL", "israel"),
    ("Italy", "IT", "italy"),
    ("Jamaica", "JM", "jamaica"),
    ("Japan", "JP", "japan"),
    ("Jordan", "JO", "jordan"),
    ("Kenya", "KE", "kenya"),
    ("Kuwait", "KW", "kuwait"),
    ("Latvia", "LV", "latvia"),
    ("Lebanon", "LB", "lebanon"),
    ("Lithuania", "LT", "lithuania"),
    ("Luxembourg", "LU", "luxembourg"),
    ("Malaysia", "MY", "malaysia"),
    ("Maldives", "MV", "maldives"),
    ("Malta", "MT", "malta"),
    ("Martinique", "MQ", "martinique"),
    ("Mauritius", "MU", "mauritius"),
    ("Mexico", "MX", "mexico"),
    ("Morocco", "MA", "morocco"),
    ("Netherlands", "NL", "netherlands"),
    ("New Caledonia", "NC", "new-caledonia"),
    ("New Zealand", "NZ", "new-zealand"),
    ("Nicaragua", "NI", "nicaragua"),
    ("Nigeria", "NG", "nigeria"),
    ("Norway", "NO", "norway"),
    ("Oman", "OM", "oman"),
    ("Pakistan", "PK", "pakistan"),
    ("Panama", "PA", "panama"),
    ("Paraguay", "PY", "paraguay"),
    ("Peru", "PE", "peru"),
    ("Philippines", "PH", "philippines"),
    ("Poland", "PL", "poland"),
    ("Portugal", "PT", "portugal"),
    ("Qatar", "QA", "qatar"),
    ("Romania", "RO", "romania"),
    ("Russia", "RU", "russia"),
    ("Réunion", "RE", "reunion"),
    ("Saudi Arabia", "SA", "saudi-arabia"),
    ("Serbia", "RS", "serbia"),
    ("Singapore", "SG", "singapore"),
    ("Slovakia", "SK", "slovakia"),
    ("Slovenia", "SI", "slovenia"),
    ("South Africa", "ZA", "south-africa"),
    ("South Korea", "KR", "south-korea"),
    ("Spain", "ES", "spain"),
    ("Sri Lanka", "LK", "sri-lanka"),
    ("Sweden", "SE", "sweden"),
    ("Switzerland", "CH", "switzerland"),
    ("Taiwan", "TW", "taiwan"),
    ("Thailand", "TH", "thailand"),
    ("Trinidad and Tobago", "TT", "trinidad-and-tobago"),
    ("Turkey", "TR", "turkey"),
    ("Ukraine", "UA", "ukraine"),
    ("United Arab Emirates", "AE", "united-arab-emirates"),
    ("United Kingdom", "GB", "united-kingdom"),
    ("United States", "US", "united-states"),
    ("Uruguay", "UY", "uruguay"),
    ("Venezuela", "VE", "venezuela"),
    ("Vietnam", "VN", "vietnam"),
]

# Every location slug FlixPatrol's /top10/ pages accept, as listed by a public FlixPatrol scraper.
FLIXPATROL_LOCATION_SLUGS = [
    line
    for line in (FIXTURES / "location-slugs.txt").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
]


def test_netflix_country_list_is_complete() -> None:
    assert len(NETFLIX_COUNTRIES) == 94
    assert len({code for _, code, _ in NETFLIX_COUNTRIES}) == 94


@pytest.mark.parametrize(("name", "code", "slug"), NETFLIX_COUNTRIES)
def test_netflix_countries_map_to_flixpatrol_slug_and_back(name: str, code: str, slug: str) -> None:
    assert flixpatrol_slug(code) == slug
    assert flixpatrol_slug(code.lower()) == slug
    assert region_from_flixpatrol_slug(slug) == code
    # Netflix's own country name resolves to the same code, so imports and commands agree.
    assert resolve_region(name) == code


def test_every_flixpatrol_location_slug_round_trips() -> None:
    assert len(FLIXPATROL_LOCATION_SLUGS) == 199
    unknown = [
        slug for slug in FLIXPATROL_LOCATION_SLUGS if region_from_flixpatrol_slug(slug) is None
    ]
    assert unknown == []
    changed = [
        slug
        for slug in FLIXPATROL_LOCATION_SLUGS
        if flixpatrol_slug(region_from_flixpatrol_slug(slug) or "") != slug
    ]
    assert changed == []


def test_every_iso_country_has_a_distinct_slug_that_round_trips() -> None:
    codes = [country.alpha_2 for country in pycountry.countries]
    slugs = {code: flixpatrol_slug(code) for code in codes}
    assert len(set(slugs.values())) == len(slugs)
    for code, slug in slugs.items():
        assert slug == slug.lower()
        assert " " not in slug and "," not in slug and "(" not in slug and "--" not in slug
        assert region_from_flixpatrol_slug(slug) == code


@pytest.mark.parametrize(
    ("code", "slug"),
    [
        ("KR", "south-korea"),
        ("US", "united-states"),
        ("GB", "united-kingdom"),
        ("CZ", "czech-republic"),
        ("SV", "salvador"),
        ("SZ", "swaziland"),
        ("VN", "vietnam"),
        ("TW", "taiwan"),
        ("RU", "russia"),
        ("BO", "bolivia"),
        ("TR", "turkey"),
        ("HK", "hong-kong"),
        ("IR", "iran"),
        ("CI", "ivory-coast"),
        ("XK", "kosovo"),
        (WORLD, "world"),
        ("world", "world"),
    ],
)
def test_flixpatrol_slug_quirks(code: str, slug: str) -> None:
    assert flixpatrol_slug(code) == slug


def test_slug_aliases_lead_to_the_region_but_are_never_produced() -> None:
    assert region_from_flixpatrol_slug("el-salvador") == "SV"
    assert region_from_flixpatrol_slug("eswatini") == "SZ"
    assert region_from_flixpatrol_slug("czechia") == "CZ"
    assert region_from_flixpatrol_slug("/South-Korea/") == "KR"
    assert region_from_flixpatrol_slug("world") == WORLD


@pytest.mark.parametrize("bad", ["ZZ", "", "korea", "ALL"])
def test_flixpatrol_slug_refuses_unknown_regions(bad: str) -> None:
    with pytest.raises(ValueError, match="no FlixPatrol country slug"):
        flixpatrol_slug(bad)


def test_unknown_slug_is_none() -> None:
    assert region_from_flixpatrol_slug("atlantis") is None
    assert region_from_flixpatrol_slug("") is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("KR", "KR"),
        ("kr", "KR"),
        (" De ", "DE"),
        ("korea", "KR"),
        ("South Korea", "KR"),
        ("Korea, Republic of", "KR"),
        ("north korea", "KP"),
        ("united states", "US"),
        ("the United States", "US"),
        ("United States of America", "US"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("us", "US"),
        ("america", "US"),
        ("UK", "GB"),
        ("Britain", "GB"),
        ("great britain", "GB"),
        ("GBR", "GB"),
        ("Russia", "RU"),
        ("Russian Federation", "RU"),
        ("vietnam", "VN"),
        ("Viet Nam", "VN"),
        ("Taiwan", "TW"),
        ("iran", "IR"),
        ("Türkiye", "TR"),
        ("turkiye", "TR"),
        ("Turkey", "TR"),
        ("Czechia", "CZ"),
        ("bolivia", "BO"),
        ("Holland", "NL"),
        ("the Netherlands", "NL"),
        ("UAE", "AE"),
        ("reunion", "RE"),
        ("Réunion", "RE"),
        ("Côte d'Ivoire", "CI"),
        ("el salvador", "SV"),
        ("south-korea", "KR"),
        ("salvador", "SV"),
        ("Kosovo", "XK"),
        ("world", WORLD),
        ("Worldwide", WORLD),
        ("GLOBAL", WORLD),
        ("the World", WORLD),
    ],
)
def test_resolve_region(text: str, code: str) -> None:
    assert resolve_region(text) == code


@pytest.mark.parametrize("text", ["", "   ", "xx", "ZZ", "Atlantis", "Germny", "the", "uk uk"])
def test_resolve_region_never_guesses(text: str) -> None:
    assert resolve_region(text) is None


def test_suggest_regions_offers_the_intended_country_first() -> None:
    assert suggest_regions("Germny")[0] == ("DE", "Germany")
    assert suggest_regions("untied states")[0] == ("US", "United States")
    assert suggest_regions("swizerland")[0] == ("CH", "Switzerland")
    assert suggest_regions("wrldwide")[0] == (WORLD, "Worldwide")
    assert ("KR", "South Korea") in suggest_regions("korae")


def test_suggest_regions_limits_and_deduplicates() -> None:
    suggestions = suggest_regions("korea", limit=5)
    codes = [code for code, _ in suggestions]
    assert len(codes) == len(set(codes)) <= 5
    assert {"KR", "KP"} <= set(codes)
    assert len(suggest_regions("a", limit=1)) <= 1
    assert suggest_regions("korea", limit=0) == []


def test_suggest_regions_returns_nothing_for_noise() -> None:
    assert suggest_regions("qqqqzzzz") == []
    assert suggest_regions("") == []


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("KR", "South Korea"),
        ("kr", "South Korea"),
        ("US", "United States"),
        ("GB", "United Kingdom"),
        ("TW", "Taiwan"),
        ("VN", "Vietnam"),
        ("RU", "Russia"),
        ("CZ", "Czech Republic"),
        ("TR", "Turkey"),
        ("RE", "Réunion"),
        ("DE", "Germany"),
        ("XK", "Kosovo"),
        (WORLD, "Worldwide"),
        ("ZZ", "ZZ"),
    ],
)
def test_region_name(code: str, name: str) -> None:
    assert region_name(code) == name


def test_region_names_are_never_iso_inverted_forms() -> None:
    inverted = [
        region_name(country.alpha_2)
        for country in pycountry.countries
        if "," in region_name(country.alpha_2)
    ]
    assert inverted == []


def test_netflix_country_names_are_the_display_names() -> None:
    # The names Netflix publishes are what users see in its charts; ours should agree.
    assert [region_name(code) for _, code, _ in NETFLIX_COUNTRIES] == [
        name for name, _, _ in NETFLIX_COUNTRIES
    ]


@pytest.mark.parametrize(
    ("code", "flag"),
    [
        ("KR", "🇰🇷"),
        ("us", "🇺🇸"),
        ("GB", "🇬🇧"),
        (WORLD, "🌍"),
        ("XK", "🇽🇰"),
        ("ALL", "🏳️"),
        ("", "🏳️"),
    ],
)
def test_region_flag(code: str, flag: str) -> None:
    assert region_flag(code) == flag


def test_flixpatrol_services_cover_the_documented_slugs() -> None:
    assert set(FLIXPATROL_SERVICES) == {
        "netflix",
        "hbo-max",
        "disney",
        "amazon-prime",
        "apple-tv",
        "hulu",
        "paramount-plus",
        "crunchyroll",
        "videoland",
        "skyshowtime",
        "google-tv",
    }


@pytest.mark.parametrize(
    ("heading_name", "slug"),
    [
        ("Apple TV", "apple-tv"),
        ("Crunchyroll", "crunchyroll"),
        ("Netflix", "netflix"),
        ("HBO Max", "hbo-max"),
        ("HBO", "hbo-max"),
        ("Disney+", "disney"),
        ("Amazon Prime", "amazon-prime"),
        ("Paramount+", "paramount-plus"),
        ("SkyShowtime", "skyshowtime"),
        ("Google TV", "google-tv"),
        ("  apple   tv ", "apple-tv"),
        ("apple-tv", "apple-tv"),
        ("hbo", "hbo-max"),
    ],
)
def test_service_from_display_name(heading_name: str, slug: str) -> None:
    assert service_from_display_name(heading_name) == slug


@pytest.mark.parametrize("name", ["Apple TV Store", "Netflix Kids", "", "Streaming"])
def test_service_from_display_name_is_exact(name: str) -> None:
    assert service_from_display_name(name) is None


def test_service_display_name() -> None:
    assert service_display_name("paramount-plus") == "Paramount+"
    assert service_display_name("disney") == "Disney+"
    assert service_display_name("hbo") == "HBO Max"
    assert service_display_name("amc-plus") == "Amc Plus"

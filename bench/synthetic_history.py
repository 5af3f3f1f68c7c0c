"""Years of synthetic daily charts that behave like FlixPatrol's: for bench/commands.py.

Each (service, category) has a stream of releases — a few a day, a third of them Korean titles
(in Hangul or romanised), the rest English — with a peak popularity drawn from a heavy tail and a
decay of days to weeks; every few weeks one release is a hit that holds #1 for a month or more
in most countries. A country's Top 10 ranks the releases of the moment by popularity times that
country's taste for the title (Korean titles do better in Korea and its neighbours) and a little
daily noise, so charts of one day are correlated across countries and move a few places a day,
as real ones do. The worldwide chart sums FlixPatrol's points (11 - rank per country).

Deterministic for a seed: the same arguments give the same charts, so a cached store can be
checked against what would be built.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.models import WORLD, Chart, ChartKey, Entry, make_title_id

SOURCE = "flixpatrol"
SERVICES = ("netflix", "disney", "amazon-prime")
CATEGORIES = ("TV Shows", "Movies")
# 90 countries FlixPatrol ranks, Korea and its neighbours first (they favour Korean titles).
COUNTRIES = (
    "KR", "JP", "TW", "HK", "TH", "VN", "PH", "MY", "SG", "ID",
    "US", "CA", "MX", "BR", "AR", "CL", "CO", "PE", "EC", "UY",
    "GB", "IE", "FR", "DE", "AT", "CH", "BE", "NL", "LU", "IT",
    "ES", "PT", "GR", "CY", "MT", "PL", "CZ", "SK", "HU", "RO",
    "BG", "HR", "SI", "RS", "BA", "MK", "AL", "ME", "XK", "LT",
    "LV", "EE", "FI", "SE", "NO", "DK", "IS", "UA", "MD", "GE",
    "TR", "IL", "AE", "SA", "QA", "KW", "BH", "OM", "JO", "LB",
    "EG", "MA", "TN", "NG", "KE", "ZA", "IN", "PK", "BD", "LK",
    "AU", "NZ", "BO", "PY", "VE", "CR", "PA", "GT", "HN", "DO",
)  # fmt: skip
KOREAN_MARKETS = 10  # the first COUNTRIES
TOP = 10
# Releases that can reach a Top 10 on a given day: the most popular ones of the moment.
CONTENDERS = 40
# Days of releases before the first chart, so that the first charts are full.
WARM_UP_DAYS = 30

_EN_FIRST = (
    "The", "Silent", "Last", "Dark", "Golden", "Broken", "Hidden", "Wild", "Lost", "Red",
    "Midnight", "Crimson", "Frozen", "Burning", "Secret", "Little", "Royal", "Savage",
)  # fmt: skip
_EN_SECOND = (
    "Sea", "Kingdom", "Garden", "Witness", "Harbor", "Empire", "Mirror", "Frontier", "Orchard",
    "Signal", "Crown", "Tide", "Ledger", "Circus", "Voyage", "Heist", "Alibi", "Rebellion",
    "Summer", "Doctor", "Detective", "Academy", "Hotel", "Island", "Games", "Protocol",
)  # fmt: skip
_KO_WORDS = (
    "사랑", "오징어", "게임", "더", "글로리", "불시착", "이상한", "변호사", "우영우", "킹덤",
    "스위트홈", "무빙", "눈물의", "여왕", "지금", "우리", "학교는", "마스크걸", "더글로리",
    "나의", "아저씨", "빈센조", "도깨비", "연인", "비밀의", "숲", "악귀", "소년", "시대",
)  # fmt: skip
_ROMANISED = (
    "Sarang", "Gyeongseong", "Creature", "Moving", "Kingdom", "Sweet Home", "Vincenzo",
    "Goblin", "Mask Girl", "Hellbound", "Juvenile Justice", "Daily Dose of Sunshine",
    "Black Knight", "Physical 100", "Singles Inferno", "Twinkling Watermelon",
)  # fmt: skip
# Famous names kept as they are, for realistic lookups ("/title squid game"); used once each.
_HITS = (
    "Squid Game", "The Glory", "Extraordinary Attorney Woo", "Wednesday", "Stranger Things",
    "Crash Landing on You", "Queen of Tears", "All of Us Are Dead", "Money Heist: Korea",
    "Bridgerton", "The Crown", "Narco-Saints", "Alice in Borderland", "My Name", "D.P.",
)  # fmt: skip


@dataclass(slots=True)
class _Release:
    title: str
    season: str | None
    title_id: str
    korean: bool
    peak: float
    decay_days: float
    released: int  # day number
    taste: list[float] = field(default_factory=list)  # per country in COUNTRIES order

    def popularity(self, day: int) -> float:
        age = day - self.released
        warm_up = min(1.0, (age + 1) / 3)  # a release climbs for a couple of days
        return self.peak * warm_up * math.exp(-age / self.decay_days)


class _Names:
    """Distinct display titles: Korean (Hangul or romanised) or English, a few famous ones."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()
        self._hits = list(_HITS)

    def next(self, korean: bool, hit: bool) -> str:
        if hit and self._hits:
            return self._hits.pop(0)
        rng = self._rng
        for attempt in range(1000):
            if korean and rng.random() < 0.6:
                name = " ".join(rng.sample(_KO_WORDS, rng.choice((1, 2, 2, 3))))
            elif korean:
                name = rng.choice(_ROMANISED)
                if rng.random() < 0.7:
                    name += f" {rng.choice(_EN_SECOND)}"
            else:
                name = f"{rng.choice(_EN_FIRST)} {rng.choice(_EN_SECOND)}"
                if rng.random() < 0.4:
                    name += f" of {rng.choice(_EN_SECOND)}"
            if attempt > 20:
                name += f" {attempt}"
            if name not in self._used:
                self._used.add(name)
                return name
        raise RuntimeError("ran out of distinct names")


class _Stream:
    """The releases of one (service, category) and the Top 10s they make each day."""

    def __init__(self, service: str, category: str, names: _Names, rng: random.Random) -> None:
        self.service = service
        self.category = category
        self._names = names
        self._rng = rng
        self._active: list[_Release] = []
        self._seasons: dict[str, int] = {}
        self._shows: list[str] = []  # TV titles released so far, for new seasons

    def _release(self, day: int, hit: bool) -> _Release:
        rng = self._rng
        korean = rng.random() < 0.33
        tv = self.category == "TV Shows"
        if tv and not hit and self._shows and rng.random() < 0.15:
            title = rng.choice(self._shows)  # a new season of a show seen before
        else:
            title = self._names.next(korean, hit)
            if tv:
                self._shows.append(title)
        season = None
        if tv:
            self._seasons[title] = self._seasons.get(title, 0) + 1
            season = f"Season {self._seasons[title]}"
        peak = (60.0 if hit else 1.0) * rng.paretovariate(1.6)
        decay = rng.uniform(35, 60) if hit else rng.uniform(3, 25)
        taste = [
            rng.lognormvariate(0.9 if korean and index < KOREAN_MARKETS else 0.0, 0.5)
            for index in range(len(COUNTRIES))
        ]
        return _Release(
            title, season, make_title_id(title, season), korean, peak, decay, day, taste
        )

    def release_day(self, day: int) -> None:
        rng = self._rng
        for _ in range(rng.choice((1, 2, 2, 3, 4))):
            self._active.append(self._release(day, hit=False))
        if rng.random() < 1 / 40:
            self._active.append(self._release(day, hit=True))
        self._active = [r for r in self._active if r.popularity(day) > 0.02]

    def day_charts(self, day: int, period: date) -> Iterator[Chart]:
        rng = self._rng
        self.release_day(day)
        contenders = sorted(self._active, key=lambda r: -r.popularity(day))[:CONTENDERS]
        popularity = [r.popularity(day) for r in contenders]
        points: dict[str, int] = {}
        for index, region in enumerate(COUNTRIES):
            scored = sorted(
                range(len(contenders)),
                key=lambda i: -popularity[i] * contenders[i].taste[index] * rng.uniform(0.85, 1.15),
            )[:TOP]
            entries = []
            for rank, i in enumerate(scored, start=1):
                release = contenders[i]
                points[release.title_id] = points.get(release.title_id, 0) + TOP + 1 - rank
                entries.append(Entry(rank, release.title_id, release.title, release.season))
            key = ChartKey(SOURCE, self.service, region, self.category, "daily")
            yield Chart(key, period, tuple(entries))
        by_id = {r.title_id: r for r in contenders}
        world = sorted(points.items(), key=lambda item: (-item[1], item[0]))[:TOP]
        yield Chart(
            ChartKey(SOURCE, self.service, WORLD, self.category, "daily"),
            period,
            tuple(
                Entry(rank, tid, by_id[tid].title, by_id[tid].season, points=score)
                for rank, (tid, score) in enumerate(world, start=1)
            ),
        )


ROWS_PER_DAY = len(SERVICES) * len(CATEGORIES) * (len(COUNTRIES) + 1) * TOP


def days_for(rows: int) -> int:
    """How many days of charts hold at least `rows` ranked rows."""
    return max(1, -(-rows // ROWS_PER_DAY))


def daily_charts(days: int, last_day: date, seed: int = 19) -> Iterator[Chart]:
    """`days` days of charts ending on `last_day`, period by period (the pipeline's order)."""
    rng = random.Random(seed)
    names = _Names(rng)
    streams = [_Stream(s, c, names, rng) for s in SERVICES for c in CATEGORIES]
    first = last_day - timedelta(days=days - 1)
    for day in range(-WARM_UP_DAYS, 0):
        for stream in streams:
            stream.release_day(day)
    for day in range(days):
        period = first + timedelta(days=day)
        for stream in streams:
            yield from stream.day_charts(day, period)

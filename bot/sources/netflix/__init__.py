"""Netflix's official Top 10 files ("Tudum"): pure parsers, text in, `Chart` out.

Three files, all tab-separated, UTF-8, LF, never quoted (format facts: data README):
- `all-weeks-global.tsv`: four worldwide weekly charts (Films/TV × English/Non-English);
- `all-weeks-countries.tsv`: a Films and a TV chart per country and week (~31 MB live);
- `most-popular.tsv`: the all-time lists, undated (the caller supplies the snapshot date).

Columns are looked up by name: the global header changed four times and only the names
survived every change. A body that is not such a file at all (HTML, `null`, empty, unknown
header) raises `SourceError`; one bad row only marks its own chart (`Chart.parse_error`), so a
defect costs one chart and never the whole file.
"""

from bot.sources.netflix.cells import NO_SEASON
from bot.sources.netflix.header import (
    COUNTRIES_FILE,
    COUNTRIES_REQUIRED_COLUMNS,
    GLOBAL_FILE,
    GLOBAL_REQUIRED_COLUMNS,
    MOST_POPULAR_FILE,
    MOST_POPULAR_REQUIRED_COLUMNS,
    SERVICE,
    SOURCE,
    HeaderKind,
    body_problem,
    cut_short_problem,
    sniff_netflix_header,
)
from bot.sources.netflix.layouts import WEEKLY_CHART_SIZE
from bot.sources.netflix.parse import (
    parse_countries,
    parse_global,
    parse_most_popular,
    read_global_file,
    sorted_by_period,
)
from bot.sources.netflix.stream import (
    CountriesScan,
    iter_countries_file_by_period,
    scan_countries_file,
)

__all__ = [
    "COUNTRIES_FILE",
    "COUNTRIES_REQUIRED_COLUMNS",
    "GLOBAL_FILE",
    "GLOBAL_REQUIRED_COLUMNS",
    "MOST_POPULAR_FILE",
    "MOST_POPULAR_REQUIRED_COLUMNS",
    "NO_SEASON",
    "SERVICE",
    "SOURCE",
    "WEEKLY_CHART_SIZE",
    "CountriesScan",
    "HeaderKind",
    "body_problem",
    "cut_short_problem",
    "iter_countries_file_by_period",
    "parse_countries",
    "parse_global",
    "parse_most_popular",
    "read_global_file",
    "scan_countries_file",
    "sniff_netflix_header",
    "sorted_by_period",
]

"""The hand-kept region tables: display names, FlixPatrol country slugs and nicknames.

Separate from the lookups in bot.sources.regions because they are data checked by hand against
the sources (docs/sources.md §2), changed on their own when a source renames a country; the
lookups read them and pycountry, and stay readable without 150 lines of data in between.
"""

from __future__ import annotations

# Regions Netflix and FlixPatrol rank that ISO 3166-1 (and so pycountry) does not list.
EXTRA_REGIONS: dict[str, str] = {"XK": "Kosovo"}

# Display names where pycountry's name is the formal or comma-inverted ISO form
# ("Korea, Republic of"), or where the source files use another common name (Netflix's file
# writes "Czech Republic", "Russia", "Turkey"). Explicit so that the names do not depend on
# which pycountry release happens to carry a `common_name`.
DISPLAY_NAMES: dict[str, str] = {
    "BN": "Brunei",
    "BO": "Bolivia",
    "BQ": "Caribbean Netherlands",
    "CC": "Cocos (Keeling) Islands",
    "CD": "DR Congo",
    "CG": "Republic of the Congo",
    "CI": "Ivory Coast",
    "CV": "Cape Verde",
    "CZ": "Czech Republic",
    "FK": "Falkland Islands",
    "FM": "Micronesia",
    "IR": "Iran",
    "KP": "North Korea",
    "KR": "South Korea",
    "LA": "Laos",
    "MD": "Moldova",
    "MF": "Saint Martin",
    "MO": "Macao",
    "PS": "Palestine",
    "RU": "Russia",
    "SH": "Saint Helena",
    "SX": "Sint Maarten",
    "SY": "Syria",
    "SZ": "Eswatini",
    "TL": "East Timor",
    "TR": "Turkey",
    "TW": "Taiwan",
    "TZ": "Tanzania",
    "VA": "Vatican City",
    "VE": "Venezuela",
    "VG": "British Virgin Islands",
    "VI": "U.S. Virgin Islands",
    "VN": "Vietnam",
}

# FlixPatrol slugs of every region whose slug is not simply its pycountry name hyphenated, checked
# against the location list of a public FlixPatrol scraper and docs/sources.md §2. Kept explicit
# (not derived from DISPLAY_NAMES) so that renaming a region for display never moves a URL.
FLIXPATROL_SLUG_OVERRIDES: dict[str, str] = {
    "BN": "brunei",
    "BO": "bolivia",
    "CD": "democratic-republic-of-the-congo",
    "CG": "republic-of-the-congo",
    "CI": "ivory-coast",
    "CV": "cape-verde",
    "CZ": "czech-republic",  # pycountry: "Czechia"
    "FM": "micronesia",
    "GB": "united-kingdom",
    "HK": "hong-kong",
    "IR": "iran",
    "KP": "north-korea",
    "KR": "south-korea",  # pycountry: "Korea, Republic of"
    "LA": "laos",
    "MD": "moldova",
    "PS": "palestine",
    "RE": "reunion",
    "RU": "russia",  # pycountry: "Russian Federation"
    "SV": "salvador",  # not el-salvador
    "SY": "syria",
    "SZ": "swaziland",  # not eswatini
    "TL": "east-timor",
    "TR": "turkey",  # pycountry: "Türkiye"
    "TW": "taiwan",  # pycountry: "Taiwan, Province of China"
    "TZ": "tanzania",
    "US": "united-states",
    "VA": "vatican-city",
    "VE": "venezuela",
    "VI": "us-virgin-islands",
    "VN": "vietnam",  # pycountry: "Viet Nam"
    "XK": "kosovo",
}

# Slugs FlixPatrol used once, or that people write, leading to the same region. Read-only: the
# forward direction always produces the slug above.
FLIXPATROL_SLUG_ALIASES: dict[str, str] = {
    "czechia": "CZ",
    "el-salvador": "SV",
    "eswatini": "SZ",
    "turkiye": "TR",
}

# Free-text names people use that ISO and pycountry do not match exactly (keys are folded with
# regions._fold: lower case, accents removed, punctuation collapsed to single spaces).
REGION_ALIASES: dict[str, str] = {
    "america": "US",
    "united states of america": "US",
    "us": "US",
    "u s": "US",
    "u s a": "US",
    "usa": "US",
    "uk": "GB",
    "u k": "GB",
    "britain": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "korea": "KR",
    "south korea": "KR",
    "republic of korea": "KR",
    "north korea": "KP",
    "russia": "RU",
    "vietnam": "VN",
    "viet nam": "VN",
    "taiwan": "TW",
    "iran": "IR",
    "syria": "SY",
    "laos": "LA",
    "bolivia": "BO",
    "venezuela": "VE",
    "moldova": "MD",
    "tanzania": "TZ",
    "turkey": "TR",
    "turkiye": "TR",
    "czech republic": "CZ",
    "czechia": "CZ",
    "holland": "NL",
    "uae": "AE",
    "emirates": "AE",
    "ivory coast": "CI",
    "cote d ivoire": "CI",
    "salvador": "SV",
    "el salvador": "SV",
    "swaziland": "SZ",
    "eswatini": "SZ",
    "macau": "MO",
    "macao": "MO",
    "hong kong": "HK",
    "palestine": "PS",
    "vatican": "VA",
    "vatican city": "VA",
    "east timor": "TL",
    "cape verde": "CV",
    "brunei": "BN",
    "micronesia": "FM",
    "dr congo": "CD",
    "drc": "CD",
    "congo kinshasa": "CD",
    "congo brazzaville": "CG",
    "reunion": "RE",
    "kosovo": "XK",
}

"""Keeping the catalogs in step with the code (a developer's tool, run from a checkout).

    python -m bot.i18n.extract          # add new messages to every .po, mark vanished ones obsolete

New messages arrive untranslated and the catalog test fails until they are translated; a
message whose English changed comes back fuzzy (Babel's guess from the old text), which the test
refuses too, so a stale translation is never shipped as a current one.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

from bot.i18n.catalog import CATALOG_DOMAIN, KEYWORDS, catalog_path, read_catalog
from bot.i18n.translator import DEFAULT_LANGUAGE, LANGUAGES

# The packages whose text users read: the core and the chat adapters.
SOURCE_PACKAGES = ("bot", "handlers")


def source_root() -> Path:
    """The checkout this module runs from (bot/i18n/extract.py → the repository root)."""
    return Path(__file__).resolve().parents[2]


def extract_template(root: Path | None = None) -> Catalog:
    """Every marked message of the code, with where it is used."""
    root = root or source_root()
    template = Catalog(domain=CATALOG_DOMAIN, project="top10bot", charset="utf-8")
    for package in SOURCE_PACKAGES:
        found = extract_from_dir(
            root / package,
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=("TRANSLATORS:",),
        )
        for filename, line, message, comments, context in found:
            location = (f"{package}/{filename}", line)
            template.add(message, None, [location], auto_comments=comments, context=context)
    return template


def update_catalogs(root: Path | None = None) -> list[str]:
    """Merge the template into every language's .po; returns the files written."""
    template = extract_template(root)
    written = []
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        catalog = read_catalog(language)
        created = catalog.creation_date
        catalog.update(template, update_header_comment=False)
        catalog.creation_date = created  # a run that changes no message changes no byte
        path = Path(str(catalog_path(language)))
        with path.open("wb") as po:
            write_po(po, catalog, width=100, sort_output=False, omit_header=False)
        written.append(str(path))
    return written


def main() -> int:
    for path in update_catalogs():
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Bodies are decoded strictly: the declared charset or UTF-8, never U+FFFD for bad bytes."""

from __future__ import annotations

import pytest

from bot.sources.http import FetchError
from handlers.http import Utf8Writer, decode_strictly

URL = "http://127.0.0.1/file.tsv"


def test_utf8_with_or_without_a_bom_decodes() -> None:
    assert decode_strictly("José".encode(), None, URL) == "José"
    assert decode_strictly(b"\xef\xbb\xbfJos\xc3\xa9", None, URL) == "\ufeffJosé"


def test_a_declared_charset_is_honoured() -> None:
    assert decode_strictly("José".encode("cp1252"), "cp1252", URL) == "José"


def test_undeclared_latin1_is_a_failed_fetch() -> None:
    with pytest.raises(FetchError) as caught:
        decode_strictly("Jos\u00e9 Totoy".encode("latin-1"), None, URL)
    assert caught.value.reason == (
        "body is not valid UTF-8 text (no charset declared, read as UTF-8;"
        " byte b'\\xe9' at offset 3)"
    )


def test_an_unknown_charset_is_a_failed_fetch() -> None:
    with pytest.raises(FetchError, match="unknown charset 'klingon' declared"):
        decode_strictly(b"abc", "klingon", URL)


def test_the_file_writer_checks_every_chunk_and_transcodes() -> None:
    written: list[bytes] = []
    body = "Pokémon\tÉté\n".encode()
    writer = Utf8Writer(written.append, None, URL)
    for start in range(0, len(body), 3):  # multi-byte characters split across chunks
        writer.write(body[start : start + 3])
    writer.finish()
    assert b"".join(written) == body

    written.clear()
    latin = Utf8Writer(written.append, "latin-1", URL)
    latin.write("Été".encode("latin-1"))
    latin.finish()
    assert b"".join(written) == "Été".encode()


def test_the_file_writer_refuses_bytes_that_are_not_text_with_their_offset() -> None:
    writer = Utf8Writer(lambda chunk: None, None, URL)
    writer.write(b"abcdef")
    with pytest.raises(FetchError, match="at offset 8"):
        writer.write(b"gh\xffij")


def test_a_body_cut_inside_a_character_is_a_failed_fetch() -> None:
    writer = Utf8Writer(lambda chunk: None, None, URL)
    writer.write("é".encode()[:1])
    with pytest.raises(FetchError, match="not valid UTF-8"):
        writer.finish()

"""Pictures as files, for the console: it shows a path where chat apps show an image."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from bot.pictures.model import Picture


def save_picture(picture: Picture, directory: Path) -> Path:
    """Write the picture once under a name made of its file name and digest (the same picture
    is the same file); returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{Path(picture.filename).stem}-{picture.digest[:10]}.png"
    if not path.exists():
        # Written whole or not at all: a reader never finds half a PNG.
        partial = path.with_name(f".{path.name}.{os.getpid()}.part")
        partial.write_bytes(picture.data)
        partial.replace(path)
    return path.resolve()


async def saved_picture_line(picture: Picture, directory: Path) -> str:
    """'🖼 /tmp/top10bot-pictures/rank-squid-game-….png' (written off the event loop)."""
    path = await asyncio.to_thread(save_picture, picture, directory)
    return f"🖼 {path}"

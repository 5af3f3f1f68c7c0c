# top10bot: slim Python image, non-root user, the SQLite database on a volume (or PostgreSQL:
# compose.yaml runs the scaled-out roles from this image).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
# The postgres extra (asyncpg): `[storage] url = "postgresql://…"` works in the image as well.
RUN pip install '.[postgres]' && rm -rf /src

RUN useradd --create-home --uid 10001 top10bot \
    && mkdir -p /data && chown top10bot:top10bot /data
USER top10bot
# The default storage URL is relative (sqlite:///top10bot.db), so the database lands in the volume.
WORKDIR /data
VOLUME ["/data"]

# Tokens come from the environment (DISCORD_TOKEN, TELEGRAM_TOKEN); mount a config at
# /data/config.toml and set TOP10BOT_CONFIG=/data/config.toml to change anything else.
CMD ["top10bot", "run"]

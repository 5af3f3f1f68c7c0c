# top10bot: slim Python image, non-root user, the SQLite database on a volume.

# Build stage: a wheel with the hot modules compiled by mypyc (setup.py). The compiler stays here.
FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels

RUN useradd --create-home --uid 10001 top10bot \
    && mkdir -p /data && chown top10bot:top10bot /data
USER top10bot
# The default storage URL is relative (sqlite:///top10bot.db), so the database lands in the volume.
WORKDIR /data
VOLUME ["/data"]

# Tokens come from the environment (DISCORD_TOKEN, TELEGRAM_TOKEN); mount a config at
# /data/config.toml and set TOP10BOT_CONFIG=/data/config.toml to change anything else.
CMD ["top10bot", "run"]

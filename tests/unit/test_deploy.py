"""The deployment files agree with the code: compose.yaml runs real roles from the image, the
config it mounts loads, and the Docker build context keeps what the Dockerfile copies."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from bot.config import load_config
from bot.roles import Role

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = (ROOT / "compose.yaml").read_text(encoding="utf-8")


def test_compose_runs_one_poller_two_senders_and_a_gateway() -> None:
    roles = Counter(re.findall(r'"--role", "([a-z]+)"', COMPOSE))
    assert roles == {"poller": 1, "sender": 2, "gateway": 1}
    assert set(roles) <= {role.value for role in Role}
    assert "image: postgres:" in COMPOSE
    assert re.search(r"flaresolverr:\n(?:    .*\n)*    profiles: \[\"solver\"\]", COMPOSE)


def test_the_mounted_config_loads_and_names_the_compose_services() -> None:
    config = load_config(ROOT / "deploy" / "top10bot.toml", environ={})
    assert config.storage.url == "postgresql://top10bot@postgres:5432/top10bot"
    assert "/config/top10bot.toml" in COMPOSE
    solver = config.sections["sources"]["flixpatrol"]["solver_url"]
    assert solver == "http://flaresolverr:8191/v1"
    for platform in ("telegram", "discord"):  # secrets come from the environment only
        assert "token" not in config.sections.get(platform, {})


def test_the_build_context_leaves_out_local_state_and_keeps_what_the_image_needs() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "*.db", "*.sqlite", "*.poller-lock", ".pytest_cache"} <= ignored
    copied = re.findall(r"^COPY (.+) \./", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    needed = {name for line in copied for name in line.split()}
    assert needed == {"pyproject.toml", "README.md", "bot", "handlers", "storage"}
    assert not needed & ignored and "!pyproject.toml" in ignored

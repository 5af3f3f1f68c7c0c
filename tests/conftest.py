"""Suite-wide set-up, kept minimal."""

import os
import sys
from pathlib import Path

# Make the repository root importable (`bot`, `handlers`, `storage`, `tests.fakes`): pyproject
# sets no `pythonpath` and `.venv/bin/pytest` does not put the working directory on sys.path.
# With `pythonpath = ["."]` under [tool.pytest.ini_options] this block can go.
_REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

# python-telegram-bot 22 issues a PTBDeprecationWarning whenever a time period is read as an int,
# including inside RetryAfter.__init__, so under filterwarnings=error a flood-control answer
# would surface as that warning instead of RetryAfter. Opting in to datetime.timedelta values
# (the future default) avoids it; the production entry point should opt in the same way.
os.environ.setdefault("PTB_TIMEDELTA", "true")

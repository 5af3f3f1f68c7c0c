"""Suite-wide set-up, kept minimal."""

import os

# python-telegram-bot 22 issues a PTBDeprecationWarning whenever a time period is read as an int,
# including inside RetryAfter.__init__, so under filterwarnings=error a flood-control answer
# would surface as that warning instead of RetryAfter. Opting in to datetime.timedelta values
# (the future default) avoids it; bot/__main__.py opts in the same way for production.
os.environ.setdefault("PTB_TIMEDELTA", "true")

"""The insurer's time zone, on its own so that what only shows times (the staff's read commands,
commands/plain.py) need not load the domain's rule data in models/catalog.py with it."""

from __future__ import annotations

from datetime import timedelta, timezone

# Calendar days are counted in the insurer's time zone (China Standard Time).
BUSINESS_TZ = timezone(timedelta(hours=8))

"""The read model's schema migrations (Alembic): `versions/` holds one revision per change to
models/tables.py, from the baseline `0001` on. `database.prepare_schema` brings a read model to
the newest at every start (`claims run`, the worker) and `claims db upgrade` does it by hand.

A schema change is a new revision, written from the difference between models/tables.py and a
read model at the newest revision (CLAIMS_DATABASE_URL):

    .venv/bin/alembic -c migrations/alembic.ini revision --autogenerate --rev-id 0002 -m "..."
"""

from pathlib import Path

LOCATION = Path(__file__).resolve().parent

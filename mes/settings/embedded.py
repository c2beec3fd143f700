"""Embedded PostgreSQL for a machine with nothing but Python.

When no ``DATABASE_URL`` is given, the project starts a private PostgreSQL server (the ``pgserver``
package ships its binaries) in a data folder inside the checkout and reuses it across runs. The server is
reference-counted by pgserver: it stops when the last process that uses it exits.
"""

import logging
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

DATABASE_NAME = "mes"


def embedded_database(data_dir: Path) -> dict:
    # pgserver keeps its lock files in the user's runtime folder; give it one when the session has none.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime_dir = data_dir.parent / "run"
        runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)
    try:
        import pgserver
    except ImportError:  # pragma: no cover - pgserver is a declared dependency
        raise ImproperlyConfigured(
            "Aucune DATABASE_URL n'est définie et le paquet pgserver n'est pas installé : "
            "installez les dépendances (make install) ou définissez DATABASE_URL."
        ) from None
    # pgserver narrates every start and stop at INFO level; only its problems matter here.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608 - constant
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(data_dir),
        "PORT": "",
        "OPTIONS": {},
    }

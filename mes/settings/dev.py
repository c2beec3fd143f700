"""Local development: DEBUG on unless the environment says otherwise, console e-mail, inline tasks."""

import os

os.environ.setdefault("DEBUG", "1")

from mes.settings.base import *  # noqa: F403

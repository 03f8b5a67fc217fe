"""The reference platform's load scenarios: one user class per service, found in ``loadtests/services/``.

Run by ``fitgate load`` (which starts the platform and tells the scenarios where
each service is), or by plain locust against running services:

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8002 DirectoryUser

See ``loadtests/README.md`` for the environment the scenarios read.
"""

from __future__ import annotations

import sys
from pathlib import Path

# locust imports this file by path; the scenarios import each other as the package `loadtests`.
_REPOSITORY = str(Path(__file__).resolve().parent.parent)
if _REPOSITORY not in sys.path:
    sys.path.insert(0, _REPOSITORY)

from loadtests.services import discover_user_classes  # noqa: E402

# locust runs the User classes it finds among this module's names: every service's, discovered.
globals().update(discover_user_classes())

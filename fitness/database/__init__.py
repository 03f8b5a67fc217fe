"""Where fitgate's PostgreSQL comes from: a given URL, Docker, or the embedded wheel."""

from fitness.database.addresses import describe_url, with_database, with_user
from fitness.database.resolution import Server, open_server

__all__ = ["Server", "describe_url", "open_server", "with_database", "with_user"]

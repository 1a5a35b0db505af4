"""A TCP proxy in front of a PostgreSQL server that loses one commit's acknowledgement, for real.

The server commits; its ``CommandComplete COMMIT`` never reaches the client, whose connection is
cut instead: what a network drop or a server crash right after the commit does. The client sees a
broken connection and cannot know the commit landed. ``LostCommitAck(url, marker)`` cuts the
first connection that sent ``marker`` (a statement's text, e.g. the task's stamp) at its next
commit, once; everything else is passed through byte for byte. A context manager: ``url`` is the
proxy's, ``cut`` says whether it happened.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from urllib.parse import quote

import psycopg

# The backend's reply to COMMIT: CommandComplete ('C'), length 11, tag "COMMIT\0".
COMMIT_COMPLETE = b"C\x00\x00\x00\x0bCOMMIT\x00"


class LostCommitAck:
    """Proxies ``url``'s server on 127.0.0.1; drops one connection when the server commits after ``marker``."""

    def __init__(self, url: str, marker: bytes) -> None:
        info = psycopg.conninfo.conninfo_to_dict(url)
        self.host, self.port = str(info.get("host") or "/tmp"), int(info.get("port") or 5432)
        self.target_url, self.marker = url, marker
        self.cut = False
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = []

    @property
    def url(self) -> str:
        """The server's URL, through the proxy (a ``postgresql://`` URL, as the job's settings require)."""
        info = psycopg.conninfo.conninfo_to_dict(self.target_url)
        user, dbname = quote(str(info.get("user", "")), safe=""), quote(str(info.get("dbname", "")), safe="")
        return (f"postgresql://{user}@127.0.0.1:{self._listener.getsockname()[1]}/{dbname}"
                "?sslmode=disable&gssencmode=disable")

    def __enter__(self) -> LostCommitAck:
        threading.Thread(target=self._accept, name="pg-proxy", daemon=True).start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                _close(sock)

    def _upstream(self) -> socket.socket:
        if self.host.startswith("/"):  # a Unix-socket directory, as pgserver's URLs name it
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(f"{self.host}/.s.PGSQL.{self.port}")
            return sock
        return socket.create_connection((self.host, self.port))

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed: the proxy is done
                return
            server = self._upstream()
            with self._lock:
                self._sockets += [client, server]
            armed = threading.Event()
            threading.Thread(target=self._pump, args=(client, server, armed, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, armed, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, armed: threading.Event, replies: bool) -> None:
        """Copy ``source`` to ``sink``; arm on the marker (client side), cut on the commit (server side)."""
        tail = b""  # the end of the previous chunk, so a pattern split across two chunks is still seen
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            seen, tail = tail + data, (tail + data)[-64:]
            if not replies and self.marker in seen:
                armed.set()
            if replies and armed.is_set() and COMMIT_COMPLETE in seen:
                with self._lock:
                    first = not self.cut
                    self.cut = True
                if first:  # the server has committed; the client never hears of it
                    break
            try:
                sink.sendall(data)
            except OSError:
                break
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()

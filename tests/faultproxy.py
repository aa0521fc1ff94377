"""A loopback TCP proxy that can pass, drop or refuse traffic, to cause network faults."""

from __future__ import annotations

import contextlib
import socket
import threading

# PostgreSQL's ReadyForQuery message (idle): the end of the startup handshake.
_READY_FOR_QUERY = b"Z\x00\x00\x00\x05"


class FaultProxy:
    """Forwards 127.0.0.1:``port`` to ``target``, in one of five modes.

    - ``pass``: traffic flows both ways.
    - ``drop``: connections are accepted and read, and nothing is ever forwarded or
      answered, new and existing alike (a black-holed host).
    - ``half``: a PostgreSQL handshake passes, then the client's statements are read and
      dropped (a half-dead connection).
    - ``cut``: a PostgreSQL handshake passes, then the client's first statement closes the
      connection (PgBouncer whose database is down).
    - ``refuse``: the port is closed and open connections are cut (a stopped server).

    :param target: The server's ``(host, port)``.
    :param port: The port to listen on.
    """

    def __init__(self, target: tuple[str, int], port: int) -> None:
        self.target = target
        self.port = port
        self.mode = "pass"
        #: Connections accepted since start.
        self.accepted = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._closed = False
        self._listen()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def set_mode(self, mode: str) -> None:
        """Switch to ``mode``; see the class docstring."""
        assert mode in {"pass", "drop", "half", "cut", "refuse"}
        with self._lock:
            old, self.mode = self.mode, mode
        if mode == "refuse" and old != "refuse":
            self._close_listener()
            self._cut_all()
        elif old == "refuse" and mode != "refuse":
            self._listen()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def _cut_all(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
            self._sockets.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        """Stop listening and cut every connection."""
        self._closed = True
        self._close_listener()
        self._cut_all()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _accept(self, listener: socket.socket) -> None:
        while not self._closed:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            self._track(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if self.mode == "drop":
            self._swallow(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        self._track(upstream)
        state = {"ready": False}
        threading.Thread(
            target=self._pump, args=(upstream, client, state, False), daemon=True
        ).start()
        self._pump(client, upstream, state, True)

    def _swallow(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while client.recv(65536):
                pass
        client.close()

    def _pump(
        self, source: socket.socket, sink: socket.socket, state: dict[str, bool], upward: bool
    ) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                mode = self.mode
                if mode == "drop" or (mode == "half" and upward and state["ready"]):
                    continue
                if mode == "cut" and upward and state["ready"]:
                    break
                if not upward and _READY_FOR_QUERY in data:
                    state["ready"] = True
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

"""A TCP proxy in front of RabbitMQ that a test can cut and restore: the broker 'dropping' for one
service while the others keep their connections."""
import socket

import eventlet


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TcpProxy:
    def __init__(self, target_port=5672, target_host="127.0.0.1"):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener = None
        self._acceptor = None
        self._sockets = set()

    def start(self):
        self._listener = eventlet.listen(("127.0.0.1", self.port))
        self._acceptor = eventlet.spawn(self._accept)
        return self

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = eventlet.connect(self.target)
            except OSError:
                client.close()
                continue
            self._sockets.update((client, upstream))
            eventlet.spawn_n(self._pipe, client, upstream)
            eventlet.spawn_n(self._pipe, upstream, client)

    def _pipe(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except (OSError, EOFError):
            pass  # either side went away, or cut() closed the socket under us
        finally:
            for sock in (source, sink):
                self._close(sock)

    def _close(self, sock):
        self._sockets.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def cut(self):
        """Close the listener and every open connection: the broker is gone for whoever uses the proxy."""
        if self._acceptor is not None:
            self._acceptor.kill()
            self._acceptor = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for sock in list(self._sockets):
            self._close(sock)

    def restore(self):
        return self.start()

    def close(self):
        """End of a test: restore if cut, so the vhost teardown can close every connection cleanly.

        (Closing a kombu pool whose socket was cut under it can wait for ever.)"""
        if self._listener is None:
            self.start()
        self._acceptor.kill()
        self._listener.close()
        self._listener = None

    def uri(self, vhost):
        return f"pyamqp://guest:guest@127.0.0.1:{self.port}/{vhost}"

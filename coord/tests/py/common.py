"""Helpers shared by the kazoo scripts that coord's integration tests run."""

import logging
import socket
import sys
import threading
import time

from kazoo.client import KazooClient

logging.basicConfig(level=logging.CRITICAL)


def connect(hosts, timeout=10.0, **kwargs):
    zk = KazooClient(hosts=hosts, timeout=timeout, **kwargs)
    zk.start(timeout=10)
    return zk


def wait_for(cond, what, limit=10.0):
    """Polls `cond` until it holds; fails the script after `limit` seconds."""
    deadline = time.time() + limit
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.02)
    fail("timed out waiting for " + what)


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Proxy:
    """A TCP proxy in front of a server, so a test can cut or stall the
    client's connection without touching the server."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.stalled = False
        self.refusing = False
        self.conns = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def hosts(self):
        return "127.0.0.1:%d" % self.port

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _pump(self, src, dst):
        src.settimeout(None)
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            while self.stalled:
                time.sleep(0.01)
            try:
                dst.sendall(data)
            except OSError:
                break
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass

    def cut(self):
        """Closes every proxied connection; new ones are accepted."""
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def stall(self):
        """Holds all traffic (and refuses reconnects) until resume()."""
        self.stalled = True
        self.refusing = True

    def resume(self):
        self.refusing = False
        self.stalled = False

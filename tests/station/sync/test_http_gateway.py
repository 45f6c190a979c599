"""The HTTP gateway against a dead port and a peer that answers 5xx or garbage."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.sync.client import HttpGateway, ServerRefused, ServerUnavailable
from station.sync.journal import Journal
from station.sync.pusher import Backoff, Pusher, SyncState
from tests.station.sync.events_factory import mis_scan
from tests.station.sync.server_support import free_port


class CannedPeer:
    """Loopback TCP server answering every connection with the same bytes, then closing."""

    def __init__(self) -> None:
        self.reply = b""
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(self.reply)


@pytest.fixture
def peer() -> Iterator[CannedPeer]:
    p = CannedPeer()
    yield p
    p.sock.close()


def http(status: str, body: bytes, ctype: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"Connection: close\r\n\r\n" + body


BAD_ANSWERS = [
    http("500 Internal Server Error", b'{"detail":"boom"}'),
    http("502 Bad Gateway", b"<html>proxy error</html>", "text/html"),
    http("200 OK", b"<html>captive portal</html>", "text/html"),
    http("200 OK", b'{"results": [{"key": "someone-else", "status": "applied"}]}'),
    http("200 OK", b'{"results": "nope"}'),
    b"\x00\xff\xfe garbage that is not HTTP\r\n\r\n",
    b"",  # accepts, then hangs up without a word
]


@pytest.mark.parametrize("answer", BAD_ANSWERS)
def test_bad_answers_are_unavailable_and_events_stay_queued(
    peer: CannedPeer, answer: bytes, tmp_path: Path
) -> None:
    peer.reply = answer
    gw = HttpGateway(base_url=f"http://127.0.0.1:{peer.port}", station_token="t", timeout_s=5)
    with pytest.raises(ServerUnavailable):
        gw.post_events(events=[mis_scan(1)])
    journal = Journal(path=tmp_path / "j.sqlite3")
    journal.append(mis_scan(2))
    states: list[SyncState] = []
    pusher = Pusher(journal=journal, gateway=gw, on_state=states.append,
                    backoff=Backoff(initial_s=0.01))  # fmt: skip
    assert pusher.push_once() == "offline"
    assert journal.counts().queued == 1 and not states[-1].online
    gw.close()


def test_a_problem_answer_is_a_refusal_with_the_servers_words(peer: CannedPeer) -> None:
    peer.reply = http(
        "422 Unprocessable Entity",
        b'{"type":"urn:packline:problem:validation-failed","title":"t","status":422,'
        b'"detail":"events: too many"}',
        "application/problem+json",
    )
    gw = HttpGateway(base_url=f"http://127.0.0.1:{peer.port}", station_token="t", timeout_s=5)
    with pytest.raises(ServerRefused) as err:
        gw.post_events(events=[mis_scan(1)])
    assert err.value.status == 422 and err.value.detail == "events: too many"
    gw.close()


def test_connection_refused_is_unavailable() -> None:
    gw = HttpGateway(base_url=f"http://127.0.0.1:{free_port()}", station_token="t", timeout_s=2)
    with pytest.raises(ServerUnavailable, match="ConnectError"):
        gw.tasks()
    with pytest.raises(ServerUnavailable):
        gw.ping()
    gw.close()

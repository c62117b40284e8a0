"""Lesson 19 exercise: http_time_server (19.1). Points and hints: course.toml."""

from __future__ import annotations

import datetime
import http.client
import json
import re

import pytest

from course_harness import tcp_connect
from course_harness.peers import recv_all

TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def raw_exchange(port: int, request: bytes) -> bytes:
    """Sends `request` over a plain socket and returns every byte until the server closes."""
    with tcp_connect(port, timeout=2) as sock:
        sock.sendall(request)
        return recv_all(sock, timeout=2)


def fetch(port: int, method: str, path: str):
    """(status, headers with lower-case names, body) as Python's http.client reads them."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    except (http.client.HTTPException, OSError) as error:
        raw = raw_exchange(port, f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        pytest.fail(f"sent {method} {path} with http.client, which could not read the answer as "
                    f"HTTP: {error!r}\nthe same request over a plain socket got back: {raw!r}",
                    pytrace=False)
    finally:
        conn.close()


def describe(method, path, status, headers, body) -> str:
    return f"sent {method} {path}\ngot status {status}, headers {headers}, body {body!r}"


def test_time_server_answers_get_time_with_json(server):
    s = server("http_time_server")
    before = datetime.datetime.now().replace(microsecond=0)
    status, headers, body = fetch(s.port, "GET", "/time")
    after = datetime.datetime.now()
    seen = describe("GET", "/time", status, headers, body) + "\n" + s.explain()
    assert status == 200, f"expected status 200\n{seen}"
    assert headers.get("content-type") == "application/json", \
        f"expected the header 'Content-Type: application/json'\n{seen}"
    assert headers.get("content-length") == str(len(body)), \
        f"expected a Content-Length header saying {len(body)} (the body's size in bytes)\n{seen}"
    try:
        document = json.loads(body)
    except ValueError:
        pytest.fail(f"the body is not JSON\n{seen}", pytrace=False)
    shown = document.get("time") if isinstance(document, dict) else None
    assert isinstance(shown, str) and TIME.fullmatch(shown), \
        f'expected a JSON object {{"time": "YYYY-MM-DD HH:MM:SS"}}\n{seen}'
    when = datetime.datetime.strptime(shown, "%Y-%m-%d %H:%M:%S")
    assert before - datetime.timedelta(seconds=2) <= when <= after, \
        f"the time {shown!r} is not the local time now ({before:%Y-%m-%d %H:%M:%S})\n{seen}"


def test_time_server_refuses_other_paths_and_methods(server):
    s = server("http_time_server")
    missing = fetch(s.port, "GET", "/date")
    assert missing[0] == 404, f"expected status 404\n{describe('GET', '/date', *missing)}"
    assert missing[1].get("content-length") == str(len(missing[2])), \
        f"expected a Content-Length that matches the body\n{describe('GET', '/date', *missing)}"
    refused = fetch(s.port, "POST", "/time")
    assert refused[0] == 405, f"expected status 405\n{describe('POST', '/time', *refused)}"
    assert refused[1].get("allow") == "GET, HEAD", \
        f"expected the header 'Allow: GET, HEAD'\n{describe('POST', '/time', *refused)}"


def test_time_server_status_line_and_blank_line(server):
    s = server("http_time_server")
    raw = raw_exchange(s.port, b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
    head, blank, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 404 Not Found" and blank and body, (
        f"sent b'GET /nowhere HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' over a plain socket\n"
        f"expected the status line b'HTTP/1.1 404 Not Found', header lines ending in \\r\\n, "
        f"an empty line, then a body\ngot: {raw!r}\n{s.explain()}")


def test_time_server_answers_head_with_the_head_only(server):
    """HEAD gets the same head as GET, Content-Length included (the size the body
    would have), and no body after the empty line."""
    s = server("http_time_server")
    get = fetch(s.port, "GET", "/time")
    request = b"HEAD /time HTTP/1.1\r\nHost: x\r\n\r\n"
    raw = raw_exchange(s.port, request)
    head, blank, body = raw.partition(b"\r\n\r\n")
    expected = f"content-length: {len(get[2])}".encode()
    lines = [line.lower() for line in head.split(b"\r\n")]
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and expected in lines and blank \
        and body == b"", (
        f"sent {request!r} over a plain socket\n"
        f"expected the head a GET gets: b'HTTP/1.1 200 OK\\r\\n', headers with "
        f"'Content-Length: {len(get[2])}'\n(GET /time's body has {len(get[2])} bytes: "
        f"{get[2]!r}), the empty line, and NO body after it\n"
        f"got: {raw!r}\n" + (f"(a body of {len(body)} bytes after the empty line)\n"
                              if body else "") + s.explain())


@pytest.mark.hidden
def test_time_server_head_and_limits(server):
    s = server("http_time_server")
    raw = raw_exchange(s.port, b"HEAD /time HTTP/1.1\r\nHost: x\r\n\r\n")
    head, blank, body = raw.partition(b"\r\n\r\n")
    get = fetch(s.port, "GET", "/time")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and blank and body == b"", (
        f"sent HEAD /time: expected the 200 head and no body\ngot: {raw!r}\n{s.explain()}")
    assert f"content-length: {len(get[2])}".encode() in head.lower(), (
        f"HEAD /time must carry the Content-Length a GET would (GET's body has {len(get[2])} "
        f"bytes)\ngot: {raw!r}")
    huge = b"GET /time HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 9000 + b"\r\n\r\n"
    raw = raw_exchange(s.port, huge)
    assert raw.startswith(b"HTTP/1.1 431 "), (
        f"sent a 9 KB request head (the limit is 8 KiB): expected status 431\n"
        f"got: {raw[:200]!r}\n{s.explain()}")
    assert fetch(s.port, "GET", "/time?x=1")[0] == 200, "GET /time?x=1 (a query) should work too"

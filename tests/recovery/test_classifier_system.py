"""Client-side failures, from real exceptions: refused, timed out, TLS broken."""

import socket
import ssl
import threading

import pytest
import requests
import urllib3

from recovery.classifier import classify_exception_and_action, classify_named_system_error, classify_system_error
from recovery.taxonomy import ErrorCode as E


@pytest.fixture
def closed_port():
    """A localhost port nothing listens on (bound, then released)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def silent_server():
    """A localhost server that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []

    def accept():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()
    for conn in accepted:
        conn.close()


@pytest.fixture
def plain_http_server():
    """A localhost server that answers plain HTTP, whatever the client speaks (so TLS fails)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def _raised(call):
    with pytest.raises(Exception) as caught:
        call()
    return caught.value


def test_connection_refused_is_a_network_error(closed_port):
    exc = _raised(lambda: requests.get(f"http://127.0.0.1:{closed_port}/", timeout=2))
    assert isinstance(exc, requests.exceptions.ConnectionError)
    classified = classify_system_error(exc)
    assert classified.code is E.NETWORK_ERROR
    assert classified.partner_code == "requests.exceptions.ConnectionError"
    assert classified.retryable


def test_server_that_never_answers_is_a_timeout(silent_server):
    exc = _raised(lambda: requests.get(f"http://127.0.0.1:{silent_server}/", timeout=(1, 0.2)))
    assert isinstance(exc, requests.exceptions.ReadTimeout)
    assert classify_system_error(exc).code is E.TIMEOUT


def test_tls_handshake_that_times_out_is_a_timeout_not_a_tls_error(silent_server):
    context = ssl.create_default_context()

    def handshake():
        raw = socket.create_connection(("127.0.0.1", silent_server), timeout=0.2)
        try:
            context.wrap_socket(raw, server_hostname="localhost")
        finally:
            raw.close()

    exc = _raised(handshake)
    assert isinstance(exc, socket.timeout)
    assert classify_system_error(exc).code is E.TIMEOUT


def test_tls_spoken_to_a_plain_server_is_a_tls_error(plain_http_server):
    exc = _raised(lambda: requests.get(f"https://127.0.0.1:{plain_http_server}/", timeout=2))
    assert isinstance(exc, requests.exceptions.SSLError)
    decision = classify_exception_and_action(exc)
    assert decision.error.code is E.SSL_ERROR
    assert decision.escalate and decision.dead_letter and not decision.retry


@pytest.mark.parametrize(
    "exc,expected",
    [
        (ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"), E.SSL_ERROR),
        (ssl.CertificateError("hostname 'a.example' doesn't match 'b.example'"), E.SSL_ERROR),
        (urllib3.exceptions.SSLError("Can't connect to HTTPS URL because the SSL module is not available."), E.SSL_ERROR),
        (requests.exceptions.ConnectionError("HTTPSConnectionPool(host='x', port=443): Read timed out."), E.TIMEOUT),
        (requests.exceptions.ConnectTimeout("connect timeout=3"), E.TIMEOUT),
        (socket.gaierror(-2, "Name or service not known"), E.NETWORK_ERROR),
        (ConnectionResetError(104, "Connection reset by peer"), E.NETWORK_ERROR),
        (BrokenPipeError(32, "Broken pipe"), E.NETWORK_ERROR),
        (requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead(0 bytes read)"), E.NETWORK_ERROR),
        (ValueError("not a transport problem"), E.UNKNOWN),
        (KeyError("post_id"), E.UNKNOWN),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_constructed_exceptions(exc, expected):
    assert classify_system_error(exc).code is expected


def test_wrapped_cause_is_followed():
    try:
        try:
            raise ssl.SSLCertVerificationError(1, "certificate verify failed")
        except ssl.SSLError as inner:
            raise RuntimeError("publish failed") from inner
    except RuntimeError as outer:
        assert classify_system_error(outer).code is E.SSL_ERROR


def test_exception_with_a_broken_str_does_not_raise():
    class Nasty(Exception):
        def __str__(self):
            raise RuntimeError("no")

    assert classify_system_error(Nasty()).code is E.UNKNOWN


def test_tokens_in_exception_text_are_masked():
    exc = requests.exceptions.ConnectionError(
        "Max retries exceeded with url: /me?access_token=EAAB1234567890abcdefghijklmnop (Caused by reset by peer)"
    )
    classified = classify_system_error(exc)
    assert classified.code is E.NETWORK_ERROR
    assert "EAAB1234567890" not in classified.partner_message


@pytest.mark.parametrize(
    "name,message,expected",
    [
        ("requests.exceptions.ReadTimeout", "HTTPSConnectionPool: Read timed out. (read timeout=10)", E.TIMEOUT),
        ("requests.exceptions.ConnectionError", "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))", E.NETWORK_ERROR),
        ("ssl.SSLError", "[SSL: WRONG_VERSION_NUMBER] wrong version number", E.SSL_ERROR),
        ("socket.gaierror", "[Errno -3] Temporary failure in name resolution", E.NETWORK_ERROR),
        ("ConnectionRefusedError", "[Errno 111] Connection refused", E.NETWORK_ERROR),
        # not importable here: read by the name's last part and the message
        ("httpx.ConnectTimeout", "timed out", E.TIMEOUT),
        ("aiohttp.ClientConnectorError", "Cannot connect to host graph.facebook.com:443", E.NETWORK_ERROR),
        ("GuzzleHttp.Exception.ConnectException", "cURL error 6: Could not resolve host: graph.facebook.com", E.NETWORK_ERROR),
        ("Error", "Client network socket disconnected before secure TLS connection was established", E.NETWORK_ERROR),
        ("CurlException", "cURL error 28: Connection timed out after 10001 milliseconds", E.TIMEOUT),
        ("CurlException", "cURL error 60: SSL certificate problem: unable to get local issuer certificate", E.SSL_ERROR),
        ("CurlException", "cURL error 52: Empty reply from server", E.NETWORK_ERROR),
        ("requests.exceptions.TooManyRedirects", "Exceeded 30 redirects.", E.UNKNOWN),
        ("os.system", "rm -rf /", E.UNKNOWN),  # never resolved or imported: just an unknown name
        ("", "", E.UNKNOWN),
    ],
)
def test_named_exceptions(name, message, expected):
    assert classify_named_system_error(name, message).code is expected

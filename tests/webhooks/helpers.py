"""Webhook test tools: loopback receivers (HTTP and HTTPS), a fake DNS, and a guard that fails a test on
any connection or name lookup that would leave this machine (issue #10: the network here is loopback only).
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = {"127.0.0.1", "::1"}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a refused TLS handshake or a client that stopped reading is what some tests want


class Receiver:
    """A real HTTP(S) server on 127.0.0.1 that answers with the queued status codes (then 200).

    ``tls`` is a server ``ssl.SSLContext``; the server names the client asked for (SNI) land in ``sni``.
    """

    def __init__(self, answers: Iterable[int] = (), body: bytes | None = None, tls: Any = None) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.sni: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), raw))
                code = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(
                    body if body is not None else b'{"ok": %s}' % (b"true" if code < 300 else b"false")
                )

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.sni.append(name)
            self.server.socket = tls.wrap_socket(
                self.server.socket, server_side=True, do_handshake_on_connect=False
            )
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}/hooks"
        self.target = f"127.0.0.1:{self.port}"  # as WEBHOOK_ALLOWED_TARGETS lists it
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeDNS:
    """Replaces ``socket.getaddrinfo``: made-up names answer from ``names``; IP literals resolve as usual;
    any other name fails the test (no real lookup ever leaves the machine).

    A name maps to a list of addresses, an exception to raise, or a list of those to use one per lookup
    (the last one repeats). ``lookups`` records every name looked up (IP literals included).
    """

    def __init__(self, real: Callable[..., Any]) -> None:
        self.real = real
        self.names: dict[str, Any] = {}
        self.lookups: list[str] = []

    def answer(self, name: str, *answers: Any) -> None:
        self.names[name] = list(answers)

    def count(self, name: str) -> int:
        return self.lookups.count(name)

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        self.lookups.append(name)
        try:
            ipaddress.ip_address(name)
        except ValueError:
            pass
        else:
            return self.real(host, port, *args, **kwargs)
        if name not in self.names:
            pytest.fail(f"the test looked up {name!r}, which the fake DNS does not know (no real lookups)")
        answers = self.names[name]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, BaseException) or (
            isinstance(answer, type) and issubclass(answer, BaseException)
        ):
            raise answer
        port_number = int(port or 0)
        infos = []
        for address in answer:
            ip = ipaddress.ip_address(address)
            if ip.version == 4:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port_number)))
            else:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port_number, 0, 0)))
        return infos


def guard_network(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    """Install the fake DNS and fail the test on any TCP/UDP connection to an address that is not loopback."""
    dns = FakeDNS(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            pytest.fail(f"the test connected to {address[0]!r}: only 127.0.0.1 and ::1 are allowed")

    def connect(sock: socket.socket, address: Any) -> Any:
        check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> Any:
        check(sock, address)
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return dns


class LocalCA:
    """A certificate authority made at test time (nothing is committed) and leaf certificates it signs."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Webhook test CA")])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.bundle = directory / "ca.pem"
        self.bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def server_context(self, host_name: str) -> ssl.SSLContext:
        """A server context presenting a certificate for ``host_name`` signed by this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host_name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        chain = self.directory / f"{host_name}.pem"
        chain.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain)
        chain.unlink()  # loaded; no key file stays behind
        return context

"""Where a webhook may go: one strict reading of the URL, one resolution, and a connection to that address.

The filter and the HTTP client must never read a URL differently (issue #10, item 3). So the URL is
parsed once, here, by rules strict enough that every common parser agrees with them (no backslash, no
``@``, no whitespace or non-ASCII, a numeric port in range, a host that is a DNS name or an unambiguous IP
literal); the host is resolved once; every address it resolves to is checked; and the request is sent to
exactly the first checked address: ``urllib3``'s connection pool is opened on the IP itself, with
``server_hostname`` set to the host name, so TLS sends that name (SNI) and the certificate is verified
for it (with ``assert_hostname`` unset, urllib3 leaves that check to the ssl module, for
``server_hostname``), and the ``Host`` header carries the name. A second DNS answer (rebinding) never
gets a say. No redirect is followed.

A request has one deadline, ``timeout`` seconds for all of it (connecting, the TLS handshake, sending, the
status line and headers, the excerpt of the answer): timeouts per socket read alone let a receiver that sends
a byte just before each one expires hold a worker for hours.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
import socket
import threading
import time
import unicodedata
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import certifi
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, Timeout
from urllib3 import exceptions as http_errors
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.response import BaseHTTPResponse

from core.errors import DomainError

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS = {"http": 80, "https": 443}
EXCERPT_CHARS = 200  # of a receiver's answer, kept and shown on the endpoint's page
_READ_BYTES = 2048  # read no more of an answer than this
MAX_URL_LENGTH = 500

# RFC 3986, appendix B, on a URL already limited to printable ASCII without "\" and "@".
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<target>[^#]*)(?:#.*)?")
_AUTHORITY = re.compile(r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<name>[^:\[\]]+))(?::(?P<port>.*))?")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_ALLOWED_ENTRY = re.compile(
    r"\[(?P<v6>[0-9A-Fa-f:.]+)\]:(?P<p6>[0-9]{1,5})|(?P<v4>[0-9.]+):(?P<p4>[0-9]{1,5})"
)
# A last label browsers read as (part of) an IPv4 address: 127.1, 2130706433, 0x7f.1 …
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
# IPv6 ranges that carry an IPv4 address (which the IPv6 checks would not see).
_EMBEDS_IPV4 = [
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # local-use NAT64
    ipaddress.IPv6Network("2002::/16"),  # 6to4
    ipaddress.IPv6Network("2001::/32"),  # Teredo
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible ::a.b.c.d (and ::, ::1)
    ipaddress.IPv6Network("::ffff:0:0/96"),  # IPv4-mapped ::ffff:a.b.c.d
]
# Refusals the receiver cannot fix by answering differently: a delivery fails at once, without retries.
PERMANENT = frozenset(
    {"invalid_url", "url_characters", "url_credentials", "invalid_host", "invalid_port", "private_target"}
)


class WebhookError(DomainError):
    """A webhook problem a reseller can cause; ``field`` names the form field it belongs next to."""


@dataclass(frozen=True)
class Url:
    """A webhook URL as this module reads it; nothing else parses it again."""

    scheme: str  # "http" or "https"
    host: str  # a lower-case DNS name, or an IP address without brackets
    port: int
    target: str  # path and query, as sent in the request line
    ip: IPAddress | None  # the host, when it is an IP literal

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if isinstance(self.ip, ipaddress.IPv6Address) else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass(frozen=True)
class Target:
    """A checked URL and the one address the delivery connects to."""

    url: Url
    address: IPAddress


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str  # at most EXCERPT_CHARS, control and format characters removed


def _invalid(code: str, message: str) -> WebhookError:
    return WebhookError(code, message, "url")


def parse(url: str) -> Url:
    """Read ``url`` strictly, or refuse it: anything two URL parsers could read differently is refused."""
    if not url or len(url) > MAX_URL_LENGTH:
        raise _invalid("invalid_url", _("Use an http:// or https:// URL with a host name."))
    if any(not 0x21 <= ord(char) <= 0x7E for char in url):
        raise _invalid(
            "url_characters",
            _(
                "Remove spaces, control characters and non-ASCII characters from the URL "
                "(write an international host name in its xn-- form)."
            ),
        )
    if "\\" in url:
        raise _invalid("url_characters", _("The URL must not contain a backslash."))
    if "@" in url:
        raise _invalid("url_credentials", _("Remove the user name, password or “@” from the URL."))
    match = _URL.fullmatch(url)
    scheme = match["scheme"].lower() if match else ""
    if not match or scheme not in DEFAULT_PORTS or not match["authority"]:
        raise _invalid("invalid_url", _("Use an http:// or https:// URL with a host name."))
    authority = _AUTHORITY.fullmatch(match["authority"])
    if not authority:
        raise _invalid("invalid_host", _("The host is neither a host name nor an IP address."))
    port = DEFAULT_PORTS[scheme]
    if authority["port"] is not None:
        text = authority["port"]
        if not (text.isascii() and text.isdigit() and len(text) <= 5 and 1 <= int(text) <= 65535):
            raise _invalid("invalid_port", _("Use a port number between 1 and 65535."))
        port = int(text)
    ip: IPAddress | None
    if authority["ipv6"] is not None:
        try:
            ip = ipaddress.IPv6Address(authority["ipv6"])
        except ValueError:
            raise _invalid("invalid_host", _("The host is neither a host name nor an IP address.")) from None
        host = str(ip)
    else:
        host = authority["name"].lower()
        try:
            ip = ipaddress.IPv4Address(host)  # four decimal numbers, no leading zeros
        except ValueError:
            ip = None
            labels = host.split(".")
            if (
                len(host) > 253
                or not all(_LABEL.fullmatch(label) for label in labels)
                or _NUMERIC_LABEL.fullmatch(labels[-1])
            ):
                raise _invalid(
                    "invalid_host", _("The host is neither a host name nor an IP address.")
                ) from None
        else:
            host = str(ip)
    target = match["target"]
    if not target.startswith("/"):  # no path: "" or "?query", and origin form needs one ("/?query")
        target = "/" + target
    return Url(scheme=scheme, host=host, port=port, target=target, ip=ip)


def lookup(host: str, port: int) -> list[str]:
    """The one resolver of webhook hosts: every address ``host`` has for a TCP connection.

    Tests answer for made-up names by replacing ``socket.getaddrinfo`` (tests/webhooks/helpers.py).
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _allowed_targets() -> frozenset[tuple[IPAddress, int]]:
    """``WEBHOOK_ALLOWED_TARGETS``: exact ``ip:port`` pairs (``[v6]:port``) let through the address check."""
    allowed = set()
    for entry in settings.WEBHOOK_ALLOWED_TARGETS:
        match = _ALLOWED_ENTRY.fullmatch(entry.strip())
        try:
            if not match:
                raise ValueError(entry)
            address = ipaddress.ip_address(match["v6"] or match["v4"])
            port = int(match["p6"] or match["p4"])
            if not 1 <= port <= 65535:
                raise ValueError(entry)
        except ValueError:
            raise ImproperlyConfigured(
                f"WEBHOOK_ALLOWED_TARGETS: {entry!r} is not an IP address and port "
                "such as 127.0.0.1:9911 or [::1]:9000"
            ) from None
        allowed.add((address, port))
    return frozenset(allowed)


def is_refused(address: IPAddress) -> bool:
    """True for every address that is not plainly public, including IPv6 forms that embed an IPv4 one."""
    if isinstance(address, ipaddress.IPv6Address) and (
        address.scope_id or address.is_site_local or any(address in net for net in _EMBEDS_IPV4)
    ):
        return True
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def resolve(url: str) -> Target:
    """Parse, resolve once, check every address; the result names the one address to connect to.

    Called when an endpoint is registered and again before every delivery (DNS may have changed).
    """
    parsed = parse(url)
    if parsed.ip is not None:
        addresses = [parsed.ip]
    else:
        try:
            answers = lookup(parsed.host, parsed.port)
            addresses = list(dict.fromkeys(ipaddress.ip_address(a) for a in answers))
        except (OSError, UnicodeError, ValueError):
            addresses = []
        if not addresses:
            raise _invalid("unresolvable_host", _("The host name does not resolve."))
    allowed = _allowed_targets()
    for address in addresses:
        if (address, parsed.port) not in allowed and is_refused(address):
            raise _invalid(
                "private_target",
                _("Deliveries to private, loopback or other non-public addresses are refused."),
            )
    return Target(url=parsed, address=addresses[0])


def excerpt(raw: bytes) -> str:
    """A short, printable excerpt of an answer: no control or format characters (bidi overrides …)."""
    text = raw.decode("utf-8", errors="replace")
    # Whitespace of any kind becomes one space; other control, format, private-use and unassigned
    # characters (Unicode category C*) go.
    kept = "".join(
        " " if c.isspace() else c for c in text if c.isspace() or unicodedata.category(c)[0] != "C"
    )
    return " ".join(kept.split())[:EXCERPT_CHARS]


class _Deadline:
    """One deadline for a whole request, enforced two ways.

    Each phase gets at most the time left (the connect timeout, the read timeout for the status line, each
    read of the excerpt), which bounds a receiver that goes silent. A receiver that trickles a byte now and
    then never lets a single read time out, and http.client reads the status line and headers in as many
    reads as it likes; so a timer also shuts the connection down when the deadline passes, which ends any
    read or send it is blocked in. The shutdown goes through a duplicate of the socket's descriptor that only
    this object owns and closes, so it can never reach a descriptor number that was closed and reused.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = max(seconds, 0.0)
        self.at = time.monotonic() + self.seconds
        self.expired = False  # the timer fired (then the connection, if any, was shut down)
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None  # the connection's socket, for its read timeouts
        self._copy: socket.socket | None = None  # a duplicate of its descriptor, for the shutdown
        self._finished = False
        self._timer = threading.Timer(self.seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._timer.cancel()
        with self._lock:
            self._finished = True
            if self._copy is not None:
                self._copy.close()
            self._socket = self._copy = None

    @property
    def over(self) -> bool:
        return self.expired or time.monotonic() >= self.at

    def read_timeout(self) -> float:
        """The time left, which also becomes the connection's read timeout; ``TimeoutError`` if none is."""
        left = self.at - time.monotonic()
        if left <= 0 or self.expired:
            raise TimeoutError("webhook deadline passed")
        if self._socket is not None:
            with contextlib.suppress(OSError):  # closed already: nothing more is read from it
                self._socket.settimeout(left)
        return left

    def watch(self, sock: socket.socket) -> None:
        """Called once the connection (and its TLS handshake) is up: the socket the timer shuts down."""
        copy = socket.fromfd(sock.fileno(), sock.family, sock.type)
        with self._lock:
            if self._finished:
                copy.close()
                return
            if self._copy is not None:
                self._copy.close()
            self._socket, self._copy = sock, copy
            if self.expired:
                self._shut_down()

    def _expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self.expired = True
            self._shut_down()

    def _shut_down(self) -> None:
        if self._copy is not None:
            with contextlib.suppress(OSError):  # the receiver closed it already
                self._copy.shutdown(socket.SHUT_RDWR)


class _WatchedMixin:
    """A connection whose socket the request's deadline shuts down when time runs out. For HTTPS the TLS
    handshake is bounded by the connect timeout (the time left when the request started): the ssl module
    applies a socket timeout to a whole handshake, not to each read in it."""

    sock: Any

    def __init__(self, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]  # a mixin: HTTP(S)Connection comes next in the MRO
        if self.sock is not None:
            self.deadline.watch(self.sock)


class _DeadlineConnection(_WatchedMixin, HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_WatchedMixin, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _DeadlineConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


def _read_excerpt(response: BaseHTTPResponse, deadline: _Deadline) -> bytes:
    """At most ``_READ_BYTES`` of the answer, read as it comes, each read allowed only the time left."""
    raw = b""
    while len(raw) < _READ_BYTES:
        deadline.read_timeout()
        chunk = response.read1(_READ_BYTES - len(raw), decode_content=False)
        if not chunk:
            break
        raw += chunk
    return raw


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``body`` to the checked address only; the answer's status and a short excerpt of it.

    All of it (connecting, sending, the status line and headers, the excerpt) has to be over within
    ``timeout`` seconds; past that the attempt fails as a timeout. Failures become a ``WebhookError`` whose
    message names no address (the reseller sees it).
    """
    url = target.url
    bundle = settings.WEBHOOK_CA_BUNDLE or certifi.where()  # a file or, like requests allows, a directory
    with _Deadline(timeout) as deadline:
        # ``total``: the connect timeout is the time left, and the read timeout for the status line is what
        # remains of it once connected.
        limit = Timeout(total=max(deadline.at - time.monotonic(), 0.001))
        pool: HTTPConnectionPool
        if url.scheme == "https":
            pool = _HTTPSPool(
                str(target.address),
                url.port,
                timeout=limit,
                maxsize=1,
                retries=False,
                server_hostname=url.host,  # SNI, and the name the certificate must be valid for
                cert_reqs="CERT_REQUIRED",
                ca_certs=None if os.path.isdir(bundle) else bundle,
                ca_cert_dir=bundle if os.path.isdir(bundle) else None,
                deadline=deadline,
            )
        else:
            pool = _Pool(
                str(target.address), url.port, timeout=limit, maxsize=1, retries=False, deadline=deadline
            )
        try:
            with pool:
                response = pool.urlopen(
                    "POST",
                    url.target,
                    body=body,
                    headers={**headers, "Host": url.host_header, "Accept-Encoding": "identity"},
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    preload_content=False,
                    decode_content=False,
                )
                try:
                    raw = _read_excerpt(response, deadline)
                finally:
                    response.close()  # closes the connection too: it is never reused
        except (http_errors.HTTPError, OSError) as exc:
            logger.info("webhook POST to %s failed: %r", url.host_header, exc)
            raise (_timed_out() if deadline.over else _transport_error(exc)) from None
    if deadline.expired:  # cut off at the deadline, which can look like an answer that just ended
        logger.info("webhook POST to %s: no answer within %ss", url.host_header, timeout)
        raise _timed_out()
    return Answer(status=response.status, excerpt=excerpt(raw))


def _timed_out() -> WebhookError:
    return WebhookError("receiver_timeout", _("The receiver did not answer in time."))


def _transport_error(exc: Exception) -> WebhookError:
    """What the reseller is told about a failed connection: the kind of failure, never an address."""
    if isinstance(exc, http_errors.SSLError):
        return WebhookError(
            "receiver_tls", _("The receiver's TLS certificate could not be verified for this host name.")
        )
    if isinstance(exc, http_errors.NewConnectionError):  # before TimeoutError: it subclasses it
        return WebhookError("receiver_unreachable", _("The receiver could not be reached."))
    if isinstance(exc, http_errors.TimeoutError | TimeoutError):
        return _timed_out()
    return WebhookError("receiver_failed", _("The connection to the receiver failed."))

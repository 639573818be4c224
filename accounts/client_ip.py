"""The address a request came from, the same for every use: login limits (allauth), the API throttle and
the reveal record (LOCK-4).

``BEHIND_TLS_PROXY`` says how many reverse proxies in front of the portal are the operator's own. Each of
them appends the address it received the request from to ``X-Forwarded-For``, so the client is the entry
that many places from the right; entries further left were written by the client and prove nothing. With
no trusted proxy the header is ignored and the socket's address is the client's.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def trusted_proxy_count() -> int:
    return int(settings.BEHIND_TLS_PROXY)


def client_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = trusted_proxy_count()
    if not proxies:
        return remote
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    if not hops:
        return remote
    # Fewer hops than proxies: the request entered behind the outer ones, and the leftmost hop was still
    # written by a proxy of ours.
    candidate = _without_port(hops[-min(proxies, len(hops))])
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        # Not an address (a proxy that writes names): the proxy's own address, shared by all, is safer
        # than a value a client may have chosen.
        return remote


def _without_port(hop: str) -> str:
    """``203.0.113.9:5678`` and ``[2001:db8::1]:5678`` (proxies that write the client's port) as addresses."""
    if hop.startswith("["):
        return hop[1:].partition("]")[0]
    if hop.count(":") == 1:
        return hop.partition(":")[0]
    return hop

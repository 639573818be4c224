"""E-mail addresses compared the way mail is delivered (ESD-7).

``reseller+keys@demo.test``, ``"reseller"@DEMO.test.`` and ``ｒｅｓｅｌｌｅｒ@demo.test`` all reach the
mailbox ``reseller@demo.test``. ``canonical_address`` gives the one spelling such variants share, so
"is this a portal member's address?" cannot be dodged by spelling. It serves that comparison only: a
locker account stays the address as typed, normalised by ``accounts.models.normalise_email`` (ESD-15).
"""

from __future__ import annotations

import unicodedata


def canonical_domain(domain: str) -> str:
    """A mail domain in one form: Unicode NFKC, case-folded, without trailing dots, IDNA-encoded."""
    folded = unicodedata.normalize("NFKC", domain or "").strip().casefold().rstrip(".")
    if not folded:
        return ""
    try:
        return folded.encode("idna").decode("ascii")
    except UnicodeError:
        return folded  # not a deliverable domain; compared as folded text


def _unquote(local: str) -> str:
    """The mailbox a quoted local part names: ``"a\\b"`` is ``ab`` (RFC 5321 quoted-string)."""
    if len(local) >= 2 and local[0] == local[-1] == '"':
        inner, out, escaped = local[1:-1], [], False
        for char in inner:
            if escaped or char != "\\":
                out.append(char)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    return local


def canonical_address(address: str) -> str:
    """The mailbox an address delivers to, for comparing addresses only (see the module's docstring).

    Unicode forms (NFKC) and case are folded, a quoted local part is unquoted, a sub-address (``+tag``)
    and trailing dots of the domain are dropped, and the domain is IDNA-encoded.
    """
    text = unicodedata.normalize("NFKC", address or "").strip()
    local, at, domain = text.rpartition("@")
    if not at:
        return text.casefold()
    local = _unquote(local).casefold()
    local = local.split("+", 1)[0]
    return f"{local}@{canonical_domain(domain)}"


def address_domain(address: str) -> str:
    """The canonical domain of an address ('' when it has none)."""
    _local, at, domain = (address or "").rpartition("@")
    return canonical_domain(domain) if at else ""


def domain_and_parents(domain: str) -> list[str]:
    """``mail.shop.example`` → [``mail.shop.example``, ``shop.example``]: the declared domains that cover it.

    A bare top-level label is never a declared domain, so it is not listed.
    """
    labels = canonical_domain(domain).split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)] or ([labels[0]] if labels[0] else [])


def mask_address(address: str) -> str:
    """Enough of an address to recognise it, not to write to it.

    ``anna@customer.example`` → ``a•••@c•••.example``.
    """
    local, at, domain = (address or "").rpartition("@")
    if not at:
        return "•••"
    head, dot, tld = domain.rpartition(".")
    masked_domain = f"{(head or tld)[:1]}•••{dot}{tld}" if head else f"{tld[:1]}•••"
    return f"{local[:1]}•••@{masked_domain}"

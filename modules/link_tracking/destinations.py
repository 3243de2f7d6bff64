"""Link destinations: which URLs a tracked link may redirect to, and the exact `Location` /track sends.

A destination is refused when a WSGI server could not put it in a header (werkzeug raises on a port
out of range or a host its IDNA codec refuses; gunicorn refuses control characters) or when a browser
would read it as another URL than the one checked here:

- control characters, whitespace (U+2028 and U+00A0 included) and unpaired surrogates anywhere: browsers
  drop tabs and newlines, strip leading and trailing spaces, and Python's `urlsplit` does the same;
- a backslash before the query (browsers read it as `/`, so `https://evil.example\\.bank.example` goes
  to evil.example);
- a user name or password before the host (`https://bank.example@evil.example` goes to evil.example);
- a port that is not a number from 1 to 65535; a host that is not a DNS name (letters, digits, `-`, `_`),
  an IPv4 address in dotted decimal or a bracketed IPv6 address (browsers read `http://2130706433/` and
  `http://127.1/` as 127.0.0.1); an invalid internationalised domain name.

What is accepted is emitted as the browser would request it: the host of an internationalised domain
in IDNA (punycode, UTS #46 as browsers apply it, by the `idna` package: `straße.de` stays `ß`, which
werkzeug's IDNA 2003 codec would turn into `strasse.de`), and non-ASCII or disallowed characters of
the path, query and fragment percent-encoded as UTF-8 (werkzeug's `iri_to_uri`, the meaning kept).
The result is printable ASCII, so every WSGI server can send it, and at most MAX_LOCATION_BYTES long:
2,000 characters of emoji would otherwise become a 24 KB header, past what proxies in front of the hub
accept (nginx's default header buffers are 4 to 8 KB), so the redirect would fail there.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit, urlunsplit

import idna
from werkzeug.urls import iri_to_uri

SCHEMES = ("http", "https")
MAX_HOST_LENGTH = 253
MAX_LOCATION_BYTES = 4096

# Exactly the code points of Unicode categories Cc (controls), Zs, Zl, Zp (spaces and separators) and Cs
# (surrogates); tests/link_tracking/test_destinations.py checks it against `unicodedata`.
_INVISIBLE = re.compile("[\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ud800-\udfff]")
_DNS_LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}\Z")
_NUMERIC_LABEL = re.compile(r"(?:[0-9]+|0[xX][0-9A-Fa-f]*)\Z")
_PORT = re.compile(r"[0-9]{1,5}\Z")
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+\Z")


class UnusableDestination(ValueError):
    """Why a URL cannot be a link's destination; `str(error)` says it for the operator."""


@functools.lru_cache(maxsize=1024)
def location_for(url: str) -> str:
    """The `Location` value that redirects to `url`: printable ASCII, the meaning kept. Raises
    UnusableDestination when `url` is not an absolute http(s) URL that every browser reads the same way.
    A pure function of `url`, so every redirect to a popular link reuses the answer (refusals are not kept)."""
    _check_characters(url)
    try:
        parts = urlsplit(url)
    except ValueError as error:  # e.g. characters that NFKC-normalise to "/", "?", "#" or "@" in the host
        raise UnusableDestination(f"is not a valid URL ({error})") from error
    if parts.scheme.lower() not in SCHEMES or not parts.netloc:
        raise UnusableDestination("must be an absolute http or https URL")
    if "@" in parts.netloc:
        raise UnusableDestination("must not have a user name or password before the host "
                                  "(https://bank.example@evil.example goes to evil.example)")
    host, port = _host_and_port(parts.netloc)
    netloc = _ascii_host(host) + (f":{port}" if port else "")
    location = iri_to_uri(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))
    if not _PRINTABLE_ASCII.match(location):  # cannot happen after the checks above; a header must never get it
        raise UnusableDestination("cannot be sent in a Location header")
    if len(location) > MAX_LOCATION_BYTES:
        raise UnusableDestination(f"is {len(location)} bytes long once encoded for the Location header; at most "
                                  f"{MAX_LOCATION_BYTES} pass every proxy")
    return location


def _check_characters(url: str) -> None:
    found = _INVISIBLE.search(url)
    if found:
        character = found.group()
        name = unicodedata.name(character, "").lower() or (
            "unpaired surrogate" if unicodedata.category(character) == "Cs" else "control character")
        raise UnusableDestination(f"must not contain U+{ord(character):04X} ({name}) at position {found.start() + 1}:"
                                  " browsers would drop it or read the URL another way")
    end_of_path = min((url.find(mark) for mark in "?#" if mark in url), default=len(url))
    if "\\" in url[:end_of_path]:
        raise UnusableDestination("must not contain a backslash before the query (browsers read it as /)")


def _host_and_port(netloc: str) -> tuple[str, str]:
    """`[v6]:port`, `host:port`, or a host alone; an empty port (`host:`) means the default one."""
    if netloc.startswith("["):
        end = netloc.find("]") + 1 or len(netloc)
        host, rest = netloc[:end], netloc[end:]
        if rest and not rest.startswith(":"):
            raise UnusableDestination("has text after the IPv6 address that is not a port")
        port = rest[1:]
    else:
        host, _, port = netloc.partition(":")
    if port and not (_PORT.match(port) and 1 <= int(port) <= 65535):
        raise UnusableDestination(f"port {port!r} is not a number from 1 to 65535")
    if not host:
        raise UnusableDestination("has no host")
    return host, port


def _ascii_host(host: str) -> str:
    """The host as sent on the wire: an internationalised name in IDNA, others unchanged."""
    if host.startswith("["):
        return _ipv6_literal(host)
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as error:
            raise UnusableDestination(f"host is not a valid internationalised domain name ({error})") from error
    labels = host.removesuffix(".").split(".")
    if len(host) > MAX_HOST_LENGTH or not all(_DNS_LABEL.match(label) for label in labels):
        raise UnusableDestination("host must be a domain name (letters, digits, '-' and '_', labels of at most "
                                  "63 characters), an IPv4 address or a bracketed IPv6 address")
    for label in labels:
        if label[:4].lower() == "xn--":
            try:
                idna.ulabel(label)
            except idna.IDNAError as error:
                raise UnusableDestination(f"host has an invalid IDNA label ({error})") from error
    if _NUMERIC_LABEL.match(labels[-1]):
        _ipv4(host.removesuffix("."))
    return host


def _ipv4(host: str) -> None:
    """Browsers read a host ending in a number as an IPv4 address, written in any of several forms; only
    the dotted decimal one means the same to everybody."""
    try:
        ipaddress.IPv4Address(host)
    except ValueError as error:
        raise UnusableDestination("host ends in a number but is not an IPv4 address in dotted decimal "
                                  "(like 192.0.2.10)") from error


def _ipv6_literal(host: str) -> str:
    try:
        address = ipaddress.IPv6Address(host[1:-1]) if host.endswith("]") else None
    except ValueError:
        address = None
    if address is None or address.scope_id:
        raise UnusableDestination("host is not a valid IPv6 address in brackets")
    return host

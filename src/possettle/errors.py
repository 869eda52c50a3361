"""The root of possettle's error trees.

Every package has one error tree whose root derives from :class:`PossettleError`, drawn in
that package's ``errors`` module::

    PossettleError
    ├── iso8583.errors.CodecError       a frame or field broke PS-CUP/1 (peer's fault)
    │   ├── FramingError                length / TPDU / header
    │   ├── DecodeError                 a field, with its number and byte offset
    │   └── EncodeError                 our message could not be encoded (caller misuse)
    ├── crypto.errors.CryptoError       bad key material, MAC mismatch, PIN block errors
    ├── link.client.LinkError           the host unreachable, silent, or a reply's MAC wrong
    ├── terminal.errors.TerminalError   refusals, journal, host answers, LinkDown, printer
    ├── upstream.errors.UpstreamError   issuer timeouts, connection loss, refusals
    ├── host.errors.HostError           registry misuse, ledger conflicts, configuration
    ├── monitor.errors.MonitorError     alerts and audit entries refused
    ├── console.errors.ConsoleError     logins, actions and users refused
    ├── sim.errors.SimError             the simulator's host process or fuzzer target lost
    ├── money.MoneyError                an amount that cannot be represented
    └── ConfigError                     a bad option or file given by the user

Lower-layer errors (``OSError``, ``asyncio.TimeoutError``, pyiso8583's errors, SQLAlchemy's,
and another package's tree) are translated at exactly one boundary per package with
``raise ... from exc`` so the cause chain is kept for the doctor: a caller catches the tree of
the package it calls, never two. The terminal's callers, for instance, catch
``TerminalError`` (``LinkDown`` and its kinds), never the link's ``LinkError``.

An exception is a fault: what the caller asked for could not be done. An outcome the caller
goes on from (a reply's meaning, a settlement that stops at a step, a recovery that has not
worked yet) is a returned value.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Self

_NO_PARAMS: Mapping[str, object] = MappingProxyType({})


class PossettleError(Exception):
    """Base of every error possettle raises on purpose.

    What a merchant or an operator reads is in English and Chinese: an error raised with
    :meth:`said` (or given a key by :meth:`worded`) names a sentence of
    ``possettle/messages/locale/*.toml``; :func:`possettle.explain.explain` gives any
    error its two sentences, from that key or from the error's class.
    """

    #: the catalog sentence for this error, and its values (None: said by its class)
    key: str | None = None
    params: Mapping[str, object] = _NO_PARAMS

    def worded(self, key: str, /, **params: object) -> Self:
        """This error, shown as the catalog's sentence ``key`` (checked now, not when shown)."""
        from possettle.messages.catalog import say

        say(key, **params)
        self.key, self.params = key, MappingProxyType(dict(params))
        return self

    #: the error's own two sentences, when it was worded where it was raised (:meth:`in_both`)
    en: str | None = None
    zh: str | None = None

    @classmethod
    def in_both(cls, en: str, zh: str) -> Self:
        """A new error worded where it is raised, in English and Chinese (for sentences that
        carry the data they are about; a fixed sentence belongs in the catalog: :meth:`said`)."""
        error = cls(en)
        error.en, error.zh = en, zh
        return error

    @classmethod
    def said(cls, key: str, /, **params: object) -> Self:
        """A new error whose message is the catalog's English sentence ``key``."""
        from possettle.messages.catalog import render

        return cls(render("en", key, params)).worded(key, **params)


class ConfigError(PossettleError):
    """A user-supplied option, URL or file is invalid; the message says which and why."""

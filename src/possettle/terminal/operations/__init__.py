"""The terminal's operations as sans-IO decisions: what to send next, what a reply means.

Nothing here touches a socket, the journal or the clock; :mod:`possettle.terminal.shell`
drives these with real I/O, and the tests drive them with plain values.
"""

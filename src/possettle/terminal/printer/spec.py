"""What a printer spec in ``terminal.json`` may be, checked without opening (or importing) a
printer driver: ``terminal init`` refuses a bad one before it writes anything.

>>> check_spec("net:[::1]:9100")
>>> check_spec("usb")
Traceback (most recent call last):
...
ValueError: printer spec 'usb' is not one of sim, dummy, file:PATH or net:HOST:PORT
"""

from __future__ import annotations

SPECS_HELP = "sim, dummy, file:PATH or net:HOST:PORT"


def check_spec(spec: str) -> None:
    """Raise ``ValueError`` saying what is wrong unless ``spec`` names a printer."""
    kind, _, target = spec.partition(":")
    if spec in ("", "sim", "dummy") or (kind == "file" and target):
        return
    if kind == "net" and target:
        host, _, port = target.rpartition(":")
        if host.strip("[]") and port.isdigit() and 0 < int(port) < 65536:
            return
        raise ValueError(f"printer spec {spec!r}: expected net:HOST:PORT with a port 1..65535")
    raise ValueError(f"printer spec {spec!r} is not one of {SPECS_HELP}")

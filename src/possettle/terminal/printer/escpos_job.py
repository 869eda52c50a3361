"""A document as one ESC/POS job: the bytes a receipt printer is sent, made without a printer.

The job is built on python-escpos's ``Dummy`` printer, so initialisation, alignment, bold and
the cut are the library's own commands; a real printer is then sent the finished job in one
write (:mod:`possettle.terminal.printer.device`). Building first means a printer fault can
never leave half a job queued in the driver, and the simulated printer records exactly the
bytes a real one would get.

Chinese text is encoded here on purpose, not by ``Escpos.text()``: python-escpos 3.1's
``MagicEncode.write`` sends a string as GB18030 only when it holds an ideograph in
U+4E00–U+9FA5, and otherwise walks its single-byte code pages, inserting ``ESC t`` switches
and printing ``?`` for what none of them has (a line of full-width ``（）`` alone) — the
same label could come out two ways depending on its neighbours (python-escpos issue #678).
So every line is encoded as GB18030, the resident character set of the receipt printers sold
in China, and handed to the driver's ``_raw`` (the only way python-escpos sends bytes
unchanged, and the one its maintainers point to for GB18030, issue #491). ``FS &`` first
selects Chinese character mode: Chinese models power on in it, but a previous job may have
left it with ``FS .``. ASCII is unchanged by GB18030, so digits print as plain bytes.
"""

from __future__ import annotations

from escpos.printer import Dummy  # type: ignore[import-untyped]

from possettle.terminal.printer.documents import Document
from possettle.terminal.printer.layout import Align, PaperWidth, document_lines

KANJI_MODE_ON = b"\x1c&"  # FS & : select Chinese (Kanji) character mode
TEXT_ENCODING = "gb18030"


def encode_line(text: str) -> bytes:
    """One printed line in the printer's encoding (GB18030 covers all of Unicode)."""
    return text.encode(TEXT_ENCODING, errors="replace") + b"\n"


def escpos_job(doc: Document, width: PaperWidth = PaperWidth.MM58) -> bytes:
    """Initialise, print every line with its alignment and weight, feed and cut."""
    job = Dummy()
    job.hw("INIT")
    job._raw(KANJI_MODE_ON)
    style: tuple[Align, bool] | None = None
    for line in document_lines(doc, width):
        if (line.align, line.bold) != style:
            job.set(align=line.align.value, bold=line.bold)
            style = (line.align, line.bold)
        job._raw(encode_line(line.text))
    # Leave the printer as the next job (ours or another program's) expects to find it.
    job.set(align=Align.LEFT.value, bold=False)
    job.cut()
    return bytes(job.output)

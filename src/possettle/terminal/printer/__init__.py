"""Receipts and settlement slips, and the printers they go to.

* :mod:`.documents` — :class:`Receipt` and :class:`SettlementSlip` as typed values with a
  JSON-able dict form, so a slip that could not print is queued in the journal and reprinted
  byte for byte later.
* :mod:`.layout` — bilingual plain-text lines at 32 or 42 columns.
* :mod:`.escpos_job` — the ESC/POS bytes of a document (GB18030 text).
* :mod:`.device` — the :class:`Printer` protocol, python-escpos printers, :func:`open_printer`.
* :mod:`.simulated` — a printer whose state (ok, paper_out, offline) is a file.

Import from the modules; this package does not import python-escpos by itself, so the
journal can read a queued document without loading the printer driver.
"""

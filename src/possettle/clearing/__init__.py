"""Clearing files: the host's own day and the card network's file in UnionPay's ACOM layout,
and the wallets' daily bills (Alipay, WeChat Pay), read and written byte-exact (issue 14; see
docs/clearing.md).

Modules by concern:

* :mod:`.acom` the ACOM / ACOMA clearing file's public names, over :mod:`.layout` (the record
  layout as data), :mod:`.record` (the typed record), :mod:`.codec` (one field by kind),
  :mod:`.acom_write`, :mod:`.acom_read` (bytes sliced before decoding; a bad line is
  reported, never trimmed), :mod:`.checksum` (the companion checksum file) and
  :mod:`.naming` (file names carrying the clearing date)
* :mod:`.bills` the Alipay and WeChat Pay bill readers
"""

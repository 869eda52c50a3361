"""Clearing files: the host's own day and the card network's file in UnionPay's ACOM layout,
and the wallets' daily bills (Alipay, WeChat Pay), read and written byte-exact (issue 14; see
docs/clearing.md).

Modules by concern:

* :mod:`.acom` the ACOM / ACOMA general transaction record layout as data, its writer, its
  reader (bytes sliced before decoding; a bad line is reported, never trimmed) and the
  companion checksum file
* :mod:`.bills` the Alipay and WeChat Pay bill readers
"""

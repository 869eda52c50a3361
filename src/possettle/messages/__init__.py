"""What possettle's errors say to a merchant or an operator, in English and Chinese.

``catalog.py`` reads the sentences (``locale/en.toml``, ``locale/zh.toml``: the same keys and
placeholders in each, as the doctor's ``doctor/locale``); :mod:`possettle.explain` turns any
:class:`~possettle.errors.PossettleError` into its two sentences. This package imports no
other part of possettle (``errors.py`` uses it), and nothing here is read until an error is
raised with a key or shown.
"""

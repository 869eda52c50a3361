"""What possettle's errors say to a merchant or an operator, in English and Chinese.

``catalog.py`` reads the sentences (``locale/en.toml``, ``locale/zh.toml``: the same keys and
placeholders in each, as the doctor's ``doctor/locale``); ``explain.py`` turns any
:class:`~possettle.errors.PossettleError` into its two sentences. Nothing here is imported
until an error is shown.
"""

"""Any possettle error as the two sentences a merchant or an operator reads.

* a terminal's local refusal (:class:`~possettle.terminal.errors.Refused`) carries its own;
* an error raised with a catalog key (:meth:`~possettle.errors.PossettleError.said`,
  :meth:`~possettle.errors.PossettleError.worded`) is that sentence;
* a host's answer (:class:`~possettle.terminal.errors.HostRefused` with a response code) is
  the code table's meaning (``iso8583/codes.py``);
* anything else is its own English text, followed by what its class means, and in Chinese
  what its class means (``[class]`` in the catalog, looked up along the class's ancestry).

>>> from possettle.errors import ConfigError
>>> explain(ConfigError.said("terminal.no_directory", directory="t1")).zh
't1 不是终端目录（没有 terminal.json）：请先运行 `possettle terminal init`'
"""

from __future__ import annotations

from possettle.errors import PossettleError
from possettle.messages.catalog import Text, has, say


def explain(exc: PossettleError) -> Text:
    """``exc`` in English and Chinese."""
    en, zh = getattr(exc, "en", None), getattr(exc, "zh", None)
    if isinstance(en, str) and isinstance(zh, str):
        return Text(en, zh)  # a refusal that was worded where it was raised
    if exc.key is not None:
        return say(exc.key, **exc.params)
    from possettle.terminal.errors import HostRefused

    if isinstance(exc, HostRefused) and len(exc.code) == 2:
        from possettle.iso8583.codes import describe

        meaning = describe(exc.code)
        return say("host.answered", message=str(exc), code=exc.code, en=meaning.en, zh=meaning.zh)
    words = by_class(type(exc))
    text = str(exc)
    return Text(f"{text}: {words.en}" if words.en and text else text or words.en, words.zh)


def by_class(cls: type[BaseException]) -> Text:
    """What the nearest class of ``cls`` with a ``[class]`` sentence means."""
    for klass in cls.__mro__:
        if has(f"class.{klass.__name__}"):
            return say(f"class.{klass.__name__}")
    return say("class.PossettleError")

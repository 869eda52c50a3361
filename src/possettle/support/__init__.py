"""The support desk: guided troubleshooting for any POS terminal that shows "结算失败".

It reads what a merchant reports (screen text, a response code, a photo of the screen, answers
to a support person's questions) and ranks the doctor's causes with the doctor's own priors and
likelihoods (:mod:`possettle.doctor.catalog`, :mod:`possettle.doctor.likelihoods`), asking next
the question that is expected to tell the most. See docs/support.md.

Modules by concern:

* :mod:`.case` what was reported (:class:`~.case.Case`), :mod:`.result` what the desk answers
* :mod:`.engine` one step of the interview: :func:`~.engine.diagnose`
* :mod:`.model` the posterior over causes, expected information gain, the stop rule
* :mod:`.questions` / ``data/questions.toml`` the questions, answers and their likelihoods
* :mod:`.acquirers` / ``data/acquirers.toml`` acquirers and their response-code overrides
* :mod:`.screens` / ``data/screens.toml`` screen messages as terminals show them
* :mod:`.normalize`, :mod:`.match` messy screen text to screen messages and codes
* :mod:`.ocr` a photo of the screen to text (Tesseract)
* :mod:`.ours` facts about one of possettle's own terminals (host ledger, journal, doctor)
* :mod:`.tickets` cases saved by the console's Support desk page
"""

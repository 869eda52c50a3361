"""Monitoring: Prometheus metrics, alert rules and their built-in engine, the audit chain.

Metrics and alerts read the same :mod:`.readings` of the ledger, so a single-machine install
without Prometheus alerts on exactly what a Prometheus server would (:mod:`.ruleset` holds the
rules as data; ``rules/possettle.rules.yml`` is generated from it). Structured logging is
:mod:`possettle.logs` (card data masked); this package only uses it.
"""

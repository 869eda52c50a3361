"""The ops console: a web app for the fleet, settlements, terminals, transactions and alerts.

Start it with ``possettle console --db URL``; build it in code with
:func:`possettle.console.app.create_app`.
"""

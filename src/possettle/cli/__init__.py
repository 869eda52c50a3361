"""The ``possettle`` console command (Typer), one module per command group.

``main`` assembles the app; ``host`` is the acquirer host's registry and server, ``codec``
the PS-CUP/1 tools, ``demo`` the main job. ``common`` holds the error boundary and output
helpers every group uses.
"""

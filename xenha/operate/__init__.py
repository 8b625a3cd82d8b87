"""Operator commands that change a live cluster: safe drains, moves, the previews of
them in VM words. Everything goes through Pacemaker's own tools (``verbs``); a preview
plays the same verbs on a copy of the live CIB (``paper``)."""

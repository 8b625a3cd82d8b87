"""Fence-agent plumbing (the fence-agents stdin/argv API) and one backend per device protocol.

An agent is an :class:`~xenha.fencing.agent.FenceAgent`: its options, its texts and
the device class that speaks the protocol. :func:`~xenha.fencing.agent.run`
does the rest: parse options, answer ``metadata``, obtain the secret, and
switch power off only to report success once OFF has been read back.
"""

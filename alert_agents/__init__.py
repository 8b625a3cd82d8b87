"""Pacemaker alert agents: one module with a ``main()`` each, installed into /usr/lib/xenha/."""

"""The local lab: a real Pacemaker/Corosync pool on one machine (may use the newest Python).

It reads as hosts, pool, power, scenarios: ``hosts`` (lab machines, each a set of
namespaces on the ``network``, their processes run and tracked by ``proc``), ``pool``
(the simulated XAPI pool), ``power`` (the rack, BMCs and PDU), ``scenarios`` (what the
lab demonstrates and measures). ``cluster`` (class Lab) makes them one cluster,
``recorder`` records Pacemaker's alerts, ``lock`` keeps one lab per machine.
"""

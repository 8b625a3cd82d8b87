"""A XAPI pool simulator speaking XML-RPC like xapi, for the lab and for tests.

Layout: ``schema``/``db`` (objects with XAPI field names), ``truth`` (which host
really runs which domain), ``sessions``, ``pool`` (hosts, master/slave roles,
network reachability, liveness, DB replicas), ``handlers`` (one module per XAPI
class), ``rpc`` (dispatch and fault injection), ``server`` (HTTP/HTTPS/unix
socket endpoints), ``control`` (the ``sim.*`` control API) and ``testing``
(``running_pool`` for tests).
"""

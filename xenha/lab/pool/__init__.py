"""The simulated XAPI pool: a XAPI pool simulator speaking XML-RPC and JSON-RPC like
xapi, for the lab and for tests (it imports nothing of the lab but ``service``).

Layout: ``schema``/``db`` (objects with XAPI field names), ``api_errors`` (XAPI
failures), ``truth`` (which host really runs which domain), ``lifecycle`` (VM state
changes), ``sessions``, ``members`` (the pool as the hosts see it: one xapi per host
with its role, database replica and liveness, joined by a network that can fail),
``netns`` (endpoints inside the lab hosts' network namespaces), ``handlers`` (one
module per XAPI class), ``rpc`` (dispatch and fault injection), ``wire`` (XML-RPC and
JSON-RPC as xapi writes them), ``server`` (HTTP/HTTPS/unix socket endpoints), ``tls``
(their certificate), ``control`` (the ``sim.*`` control API), ``list_domains`` (each
host's hypervisor as the product asks it), ``state`` (a pool from a description),
``options`` and ``run`` (``xenha lab sim``, ``python -m xenha.lab.pool``), ``testing``
(``running_pool`` for tests) and ``service`` (the lab's pool: one simulator process
serving the lab's hosts).
"""

"""Power: lab machines whose power can be switched, and the real-protocol front ends that
switch it.

A :class:`~xenha.lab.power.rack.Rack` holds the truth (which machine and outlet is
on) in one locked JSON file, so every front end and the tests see the same state:
``ipmi_bmc`` (IPMI over LAN), ``ribcl`` (HP iLO), ``redfish`` (DSP0266, with its
``redfish_docs`` and ``redfish_auth``), ``apc_pdu`` (an APC PDU over SNMP) and
``power_shell`` (the forced command of an SSH power switch); ``testing`` starts them
for tests, and sushy-tools' Redfish emulator. These import only the rack.

The lab's own wiring: ``bmcs`` (one IPMI BMC per lab host), ``pdu`` (the lab's APC
PDU), and ``hook``, which the rack calls when a host's power really changes: it cuts
or boots that lab host and writes the power log.
"""

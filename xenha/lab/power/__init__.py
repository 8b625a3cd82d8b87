"""Power-controllable lab machines and the real-protocol front ends that switch them.

A :class:`~xenha.lab.power.rack.Rack` holds the truth (which machine and
outlet is on) in one JSON file, so every front end — an IPMI BMC, an APC PDU
over SNMP, Redfish — and the tests see the same state. The lab wires a
machine's power cut to a host namespace by subclassing ``Rack``.
"""

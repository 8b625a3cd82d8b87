"""xenha: high availability for XAPI pools with Pacemaker/Corosync as the cluster brain."""

__version__ = "0.1.0"

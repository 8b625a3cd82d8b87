"""fence_xenha_apc: APC switched rack PDU outlets over SNMP v1, v2c or v3."""

from xenha.fencing import options as o
from xenha.fencing.agent import FenceAgent, run
from xenha.fencing.apc_snmp import ApcSnmpDevice

AGENT = FenceAgent(
    name="fence_xenha_apc",
    shortdesc="Fence agent for APC switched rack PDUs over SNMP (xenha)",
    longdesc="fence_xenha_apc switches the outlets of an APC switched rack PDU (PowerNet-MIB"
    " rPDU) over SNMP v1, v2c or v3. plug is an outlet number, several numbers separated by"
    " plug_separator (a comma), or an outlet name: a name selects every outlet carrying it,"
    " so a host whose power supplies sit on several outlets named after it is switched off"
    " as a whole, and"
    " success is reported only once every one of them reads back OFF. The write community"
    " is given as community, or read from password_file / password_script. With"
    " snmp_version=3, username is the USM user, the password (password_file) its"
    " authentication key and snmp_priv_passwd_file its privacy key.",
    device=ApcSnmpDevice,
    vendor_url="https://www.apc.com",
    options=o.COMMON
    + (
        o.IP,
        o.ipport(161, desc="UDP port of the PDU's SNMP agent"),
        o.COMMUNITY,
        o.SNMP_VERSION,
        o.USERNAME,
        o.PASSWORD_FILE,
        o.PASSWORD_SCRIPT,
    )
    + o.SNMP_V3,
)


def main():
    run(AGENT)

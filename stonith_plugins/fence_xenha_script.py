"""fence_xenha_script: run HA-Lizard-style custom fence scripts."""

from xenha.fencing import options as o
from xenha.fencing import script
from xenha.fencing.agent import FenceAgent, run

AGENT = FenceAgent(
    name="fence_xenha_script",
    shortdesc="Fence agent running HA-Lizard custom fence scripts (xenha)",
    longdesc="fence_xenha_script runs <script_dir>/<NAME>/<NAME>.sh <plug> <start|stop>, the"
    " interface of HA-Lizard's custom fence methods (FENCE_METHOD=NAME), with plug the"
    " host UUID (map node names to UUIDs with pcmk_host_map). The power state is read back"
    " with '<NAME>.sh <plug> status' (exit 0 on, 2 off). A script without a status verb"
    " needs stop_confirms_off=1, which trusts its exit code as HA-Lizard did: only as safe as"
    " the script. The script must belong to root and not be writable by others.",
    device=script.ScriptDevice,
    options=(o.ACTION, o.PLUG, o.VERBOSE)
    + (
        o.POWER_TIMEOUT,
        o.POWER_WAIT,
        o.Option(
            "login_timeout",
            "Seconds each run of the script may take",
            type="second",
            default="60",
        ),
        o.Option("script_name", "NAME of the fence method", required=True, metavar="name"),
        o.Option(
            "script_dir",
            "Directory holding NAME/NAME.sh",
            default=script.DEFAULT_DIR,
            metavar="path",
        ),
        o.Option(
            "stop_confirms_off",
            "Take the script's successful stop as the power being off (no status verb)",
            type="boolean",
            default="0",
        ),
    ),
)


def main():
    run(AGENT)

"""Command-line options of the simulator, importable without loading it (the `xenha`
CLI builds every parser on each run)."""

FIRST_ADDRESS = "127.0.0.11"


def add_arguments(p):
    p.add_argument("--hosts", type=int, default=3, help="number of hosts (default 3)")
    p.add_argument("--vms", type=int, default=4, help="number of VMs, spread over the hosts")
    p.add_argument("--state-file", help="JSON description of the pool (overrides --hosts/--vms)")
    p.add_argument(
        "--state-dir", help="where to keep the password file and certificate (default: a temp dir)"
    )
    p.add_argument(
        "--https",
        action="store_true",
        help="also serve HTTPS, each host with its own self-signed certificate",
    )
    p.add_argument(
        "--socket-dir", help="also serve each host on the unix socket DIR/<host name>/xapi"
    )
    p.add_argument(
        "--first-address",
        default=FIRST_ADDRESS,
        help="loopback address of the first host; the others follow (default %(default)s)",
    )
    p.add_argument(
        "--port", type=int, default=0, help="HTTP port of every host (default: a free one)"
    )
    p.add_argument(
        "--https-port", type=int, default=0, help="HTTPS port of every host (default: a free one)"
    )
    p.add_argument("--json", action="store_true", help="print the endpoints as one JSON line")
    p.add_argument(
        "--until-stdin-closes",
        action="store_true",
        help="also stop when standard input closes (the parent process died)",
    )

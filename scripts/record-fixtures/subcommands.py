"""The command line of the fixture recorders (driver.py, proxies.py,
tls_fixtures.py): `SCRIPT SUBCOMMAND ARG...`, as record.sh calls each of
them. Kept in one place so that the subcommands record.sh asks of every
recorder (`run`, `label`, `versions`) read and write alike whichever script
answers, and so that a wrong call prints the script's own usage.
"""
import inspect
import json
import sys


def write_json(path, value):
    """`value` as an indented JSON file (what a `run` leaves for `label`)."""
    with open(path, "w") as f:
        json.dump(value, f, indent=1)


def print_json(value):
    """`value` as indented JSON on stdout (record.sh keeps it as NAME.labels.json)."""
    json.dump(value, sys.stdout, indent=1)
    sys.stdout.write("\n")


def recorder_commands(label, versions):
    """The subcommands every recorder answers the same way:
    `label NAME OBS.json PCAP` prints the ground-truth labels and
    `versions` the software versions used, on one line."""
    return {
        "label": lambda name, obs_path, pcap_path: print_json(label(name, obs_path, pcap_path)),
        "versions": lambda: print(json.dumps(versions())),
    }


def main(argv, usage, commands):
    """Run the subcommand argv[1] names with the arguments after it.
    `commands` maps each name to a function returning the exit status (None
    is 0). An unknown subcommand, or the wrong number of arguments, prints
    `usage` to stderr and returns 1."""
    cmd = argv[1] if len(argv) > 1 else ""
    fn = commands.get(cmd)
    args = argv[2:]
    if fn is not None:
        try:
            inspect.signature(fn).bind(*args)
        except TypeError:
            print(f"{cmd}: {len(args)} argument(s) is the wrong number", file=sys.stderr)
            fn = None
    if fn is None:
        print(usage, file=sys.stderr)
        return 1
    status = fn(*args)
    return 0 if status is None else status

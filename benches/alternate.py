#!/usr/bin/env python3
"""Medians of alternating runs of a few commands: wall time and CPU time
(user + sys of the child, from wait4), each command's output discarded.
The order flips every round, so a slow or fast spell of the host falls on
all of them alike.

usage: benches/alternate.py ROUNDS LABEL=COMMAND [LABEL=COMMAND ...]
e.g.   benches/alternate.py 31 floor="pcap_floor busy100.pcap" \\
           wshs="target/release/wshs-sniff -r busy100.pcap --json --all"
"""
import os
import statistics
import sys
import time


def run(command):
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.execvp("sh", ["sh", "-c", "exec " + command])
    _, _, usage = os.wait4(pid, 0)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def main():
    if len(sys.argv) < 3 or not all("=" in a for a in sys.argv[2:]):
        sys.exit(__doc__.strip().split("\n\n")[-1])
    rounds = int(sys.argv[1])
    commands = [a.split("=", 1) for a in sys.argv[2:]]
    times = {label: ([], []) for label, _ in commands}
    for r in range(rounds):
        for label, command in commands if r % 2 == 0 else commands[::-1]:
            wall, cpu = run(command)
            times[label][0].append(wall)
            times[label][1].append(cpu)
    for label, (wall, cpu) in times.items():
        print(f"{label:12s} wall {statistics.median(wall) * 1000:8.1f} ms"
              f"  cpu {statistics.median(cpu) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()

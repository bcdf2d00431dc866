# Sourced by benches/live_replay.sh and benches/soak.sh.
#
# sanitise_for_replay SRC OUT: write to OUT a copy of the capture SRC that is
# safe to put on a wire: every frame made Ethernet (a raw-IP, SLL, SLL2 or
# loopback capture is rewritten by to_ethernet.py; tcpreplay sends frames as
# they are), IPv6 (also VLAN-tagged IPv6) dropped, VLAN tags stripped, every
# IPv4 address rewritten into 127.0.0.0/8, one loopback address per host
# (each /16 the capture uses becomes a 127.N.0.0/16 of its own, the low 16
# bits kept, or with more than 256 of them hosts are numbered; see
# to_loopback.py), and MACs into locally administered ones. Fails, writing
# nothing usable, if any packet but IPv4 from 127/8 to 127/8 remains, or if
# nothing remains.
sanitise_for_replay() {
  local src="$1" out="$2"
  # -Z root: keep tcpdump from writing as another user into our directory.
  # A classic pcap first (tcpdump reads pcapng), then Ethernet: the VLAN
  # filter below applies to Ethernet frames only.
  if ! tcpdump -Z root -r "$src" -w "$out.pcap" 2> "$out.err"; then
    # A pcapng whose interfaces differ in link type, or no capture at all.
    echo "sanitise_for_replay: tcpdump cannot rewrite $src as one classic pcap: $(grep -v '^reading from' "$out.err" | head -1)" >&2
    rm -f "$out.pcap" "$out.err"
    return 1
  fi
  rm -f "$out.err"
  python3 "$(dirname "${BASH_SOURCE[0]}")/to_ethernet.py" "$out.pcap" "$out.enet"
  tcpdump -Z root -r "$out.enet" -w "$out.v4" 'not ip6 and not (vlan and ip6)' 2>/dev/null
  tcprewrite --enet-vlan=del -i "$out.v4" -o "$out.novlan"
  # One loopback address per host: no two hosts become one.
  python3 "$(dirname "${BASH_SOURCE[0]}")/to_loopback.py" "$out.novlan" "$out.lo"
  tcprewrite --enet-smac=02:00:00:00:00:01 --enet-dmac=02:00:00:00:00:02 --fixcsum \
    -i "$out.lo" -o "$out"
  rm -f "$out.pcap" "$out.enet" "$out.v4" "$out.novlan" "$out.lo"
  local foreign foreign2
  foreign=$(tcpdump -r "$out" -nn 'not (ip and src net 127.0.0.0/8 and dst net 127.0.0.0/8)' 2>/dev/null | wc -l)
  foreign2=$(tcpdump -r "$out" -nn 2>/dev/null | grep -vc ' IP 127\.[0-9.]* > 127\.' || true)
  if [ "$foreign" != 0 ] || [ "$foreign2" != 0 ]; then
    echo "sanitise_for_replay: $out still holds $foreign/$foreign2 packets outside 127/8; not replaying" >&2
    rm -f "$out"
    return 1
  fi
  # An IPv6-only capture leaves nothing: a run over no packets would report
  # zero drops and the same (empty) findings as the offline read.
  if [ "$(tcpdump -r "$out" -c 1 2>/dev/null | wc -l)" = 0 ]; then
    echo "sanitise_for_replay: $src holds no IPv4 packet; only IPv4 is replayed (IPv6 is dropped), nothing to replay" >&2
    rm -f "$out"
    return 1
  fi
}

# generate_replay_capture GEN SIZE SEED WORK: generate a busy-host capture of
# SIZE with the generator GEN (ground truth in WORK/truth.jsonl) and leave
# its sanitised copy in WORK/replay.pcap.
generate_replay_capture() {
  local gen="$1" size="$2" seed="$3" work="$4"
  echo "generating $size (seed $seed)..." >&2
  "$gen" --size "$size" --seed "$seed" --out "$work/src.pcap" --truth "$work/truth.jsonl" >&2
  sanitise_for_replay "$work/src.pcap" "$work/replay.pcap"
  rm -f "$work/src.pcap"
}

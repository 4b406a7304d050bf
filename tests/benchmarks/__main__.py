"""`python -m tests.benchmarks` (what `make bench` runs): the wall benchmark, then the caller,
map, evidence and room benchmarks.

    python -m tests.benchmarks [OPTIONS]          all five; OPTIONS go to the wall benchmark
                                                  (--quick also makes the others quick)
    python -m tests.benchmarks wall [OPTIONS]     the wall benchmark alone
    python -m tests.benchmarks caller [OPTIONS]   the caller benchmark alone
    python -m tests.benchmarks map [OPTIONS]      the map panel's cost alone
    python -m tests.benchmarks evidence [OPTIONS] recording, caller encoding, export, verify
    python -m tests.benchmarks reconnect [OPTIONS] how soon a lost RTSP feed is back
    python -m tests.benchmarks substream [OPTIONS] sub-streams and hidden tiles against mains only
    python -m tests.benchmarks room [OPTIONS]     a desk's feeds through `vigil server` against
                                                  direct, and the server's CPU per added desk
"""

import sys

from tests.benchmarks import (
    bench_caller,
    bench_evidence,
    bench_map,
    bench_reconnect,
    bench_room,
    bench_substream,
    bench_wall,
)


def main(argv: list[str]) -> int:
    if argv and argv[0] == "wall":
        return bench_wall.main(argv[1:])
    if argv and argv[0] == "caller":
        return bench_caller.main(argv[1:])
    if argv and argv[0] == "map":
        return bench_map.main(argv[1:])
    if argv and argv[0] == "evidence":
        return bench_evidence.main(argv[1:])
    if argv and argv[0] == "reconnect":
        return bench_reconnect.main(argv[1:])
    if argv and argv[0] == "substream":
        return bench_substream.main(argv[1:])
    if argv and argv[0] == "room":
        return bench_room.main(argv[1:])
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    status = bench_wall.main(argv)
    print()
    quick = ["--quick"] if "--quick" in argv else []
    status = bench_caller.main(quick) or status
    print()
    status = bench_map.main(quick) or status
    print()
    status = bench_evidence.main(quick) or status
    print()
    return bench_room.main(quick) or status


sys.exit(main(sys.argv[1:]))

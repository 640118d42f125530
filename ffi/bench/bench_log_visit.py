"""The foreign side of the FFI call-cost benchmark: the same calls as
ffi/examples/bench_log_visit.rs (log_visit, a durable write; get_household, a cached read),
made N times through the Python bindings on a sled store in a temporary directory.
Prints the median, p90 and mean per call in microseconds.

    PYTHONPATH=target/bindings/python python3 ffi/bench/bench_log_visit.py [N]

(target/bindings/python holds the library the bindings load: build it with
ffi/build-bindings.sh, release by default.)
"""

import statistics
import sys
import tempfile
import time

from gridsync_ffi import (
    Address, FollowUp, GeoPoint, GridsyncReplica, NewHousehold, NewVisit, Role, Tier, VisitMode,
)

GRID = "ankang/hanbin/laocheng/xinhua/g01"
NOTES = "老人身体尚可，药已按时服用，孙子周末回来。院里路灯坏了一盏，已报社区。"
DAY = 86_400_000
T0 = 1_760_000_000_000
WARMUP = 50


def visit(household, i):
    at = T0 + i * 60_000
    return NewVisit(
        household=household, at=at, mode=VisitMode.DOOR_TO_DOOR, notes=NOTES,
        findings=[], follow_ups=[FollowUp(text="下周送药", due=at + 7 * DAY, done=False)],
        geo=GeoPoint(lat=32.68, lon=109.02),
    )


def timed(label, n, f):
    for i in range(WARMUP):
        f(i)
    us = []
    for i in range(WARMUP, WARMUP + n):
        t = time.perf_counter_ns()
        f(i)
        us.append((time.perf_counter_ns() - t) / 1000)
    us.sort()
    print(f"{label:<40} n={n:<6} median {us[n // 2]:>9.2f} µs  p90 {us[n * 9 // 10]:>9.2f} µs"
          f"  mean {statistics.fmean(us):>9.2f} µs")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as d:
        r = GridsyncReplica.open(d, "bench-python")
        r.set_setup_identity("wang", "王芳", [Role.GRID_WORKER], GRID)
        h = r.register_household(NewHousehold(
            grid=GRID, address=Address.RURAL(group="3组", courtyard="李家院", number="12"),
            head="李秀英", members=[], phone="", tier=Tier.RED, tags=["留守老人"],
            contacts=["wang"],
        ))
        timed("python ffi log_visit", n, lambda i: r.log_visit(visit(h, i)))
        timed("python ffi get_household (read)", n, lambda i: r.get_household(h))
        timed("python ffi device (no store access)", n, lambda i: r.device())


if __name__ == "__main__":
    main()

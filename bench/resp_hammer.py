#!/usr/bin/python3
"""resp_hammer.py PORT CLIENTS SECONDS - RESP clients that keep asking mcprobe's view
(--resp-listen) for keys, so that it rebuilds its snapshot as often as it allows (once a
second). Each client loops HGETALL stats, SCAN 0 COUNT 1000, DBSIZE, INFO stats every PACE_S
(so that the clients' own CPU stays small and the same whatever the server's speed) until
mcprobe goes away (after it has answered once) or SECONDS pass. Prints "commands N snapshots S owner_us U": the largest INFO snapshots and
snapshot_owner_us (the probe threads' time copying their state for the snapshots) seen.
Used by bench/bench_resp.sh."""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from mc_resp import Resp  # noqa: E402

PACE_S = 0.01
done = {"commands": 0, "snapshots": 0, "owner_us": 0}
lock = threading.Lock()


def client(port, until):
	r = None
	n, snaps, owner, served = 0, 0, 0, False
	while time.time() < until:
		try:
			if r is None:
				r = Resp(port, timeout=5)
				served = True
			r.cmd("HGETALL", "stats")
			r.cmd("SCAN", "0", "COUNT", "1000")
			r.cmd("DBSIZE")
			info = r.cmd("INFO", "stats")
			n += 4
			time.sleep(PACE_S)
			for line in str(info).splitlines():
				if line.startswith("snapshots:"):
					snaps = max(snaps, int(line.split(":")[1]))
				if line.startswith("snapshot_owner_us:"):
					owner = max(owner, int(line.split(":")[1]))
		except (OSError, ConnectionError):
			if served:
				break  # mcprobe has gone: its input ended
			r = None
			time.sleep(0.01)
	with lock:
		done["commands"] += n
		done["snapshots"] = max(done["snapshots"], snaps)
		done["owner_us"] = max(done["owner_us"], owner)


def main():
	port, nclients, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
	until = time.time() + seconds
	threads = [threading.Thread(target=client, args=(port, until)) for _ in range(nclients)]
	for t in threads:
		t.start()
	for t in threads:
		t.join()
	print("commands %d snapshots %d owner_us %d" % (done["commands"], done["snapshots"],
						       done["owner_us"]))


if __name__ == "__main__":
	main()

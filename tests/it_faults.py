#!/usr/bin/python3
"""it_faults.py - the microcloud is never wrong after a fault (issue 15).

A synthetic capture (tests/gen_scenario.py: GTPv1/v2 attaches, modifies, handovers, deletes)
is streamed into `mcprobe -r - --redis ...` over STREAM_S seconds, as a live capture would
arrive. The reference is a run against a Redis that never fails. Every fault run must end
with the same subscriber facts (imsi., ip., teid., msisdn. keys: type, value, and whether a
TTL is set), key for key. Counters (host., proto., agg.) may lose what a dead Redis held; that
loss must be counted: a run that lost writes exits 1 and says how many ("writes lost"), a run
that lost none exits 0.

  - kill/restart: redis-server SIGKILLed at a random moment of the stream and restarted empty
    on the same port after a random 0.1-1.0 s; RUNS times (seeded: the seed is printed; MCP_FAULT_RUNS for a longer soak);
  - pause: SIGSTOP for 1 s mid-stream, then SIGCONT: same facts;
  - pause past the deadline: stopped until after the final flush gave up: exit 1, writes lost;
  - late start: Redis comes up 1.5 s after the probe: same facts;
  - auth required: requirepass and the password in --redis-auth-file: same facts; no password:
    "Redis requires a password" said once, exit 1, nothing written; a wrong password: said
    once, exit 1.
Bounded: each probe run is limited to 60 s; 4 cases run at a time (each has its own Redis).
Env: BUILD, MCP_SAN=1 (fewer runs), MCP_FAULT_RUNS, MCP_FAULT_SEED, MCP_FAULT_STREAM_S
(seconds, default 3.0; shorter packs more changes into the 1 s pause). Exit 0 = pass.
"""
import concurrent.futures
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from mc_resp import RedisServer, Resp, free_port  # noqa: E402

BUILD = os.environ.get("BUILD", "build")
MCPROBE = os.path.join(ROOT, BUILD, "mcprobe")
SAN = os.environ.get("MCP_SAN") == "1"
RUNS = int(os.environ.get("MCP_FAULT_RUNS", "5" if SAN else "8"))
SEED = int(os.environ.get("MCP_FAULT_SEED", str(int(time.time()) % 100000)))
STREAM_S = float(os.environ.get("MCP_FAULT_STREAM_S", "3.0"))
WORKERS = 4
_ports, _ports_lock = set(), threading.Lock()
FACTS = ("imsi.", "ip.", "teid.", "msisdn.", "user.")
SECRET = "f4ult-Pa55"
errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)
    return cond


def stream(proc, data, seconds):
    """Writes data to the probe's stdin in pieces spread over seconds."""
    n = 64
    step = (len(data) + n - 1) // n
    try:
        for i in range(n):
            proc.stdin.write(data[i * step:(i + 1) * step])
            proc.stdin.flush()
            time.sleep(seconds / n)
        proc.stdin.close()
    except (BrokenPipeError, ValueError):
        pass


def run_probe(data, port, extra=(), env=None, during=None):
    """mcprobe -r - streaming data; during(t0) runs in this thread while it streams.
    Returns (exit status, stderr)."""
    e = dict(os.environ)
    e.pop("MCP_REDIS_AUTH", None)
    e.update(env or {})
    p = subprocess.Popen([MCPROBE, "-r", "-", "--redis", "127.0.0.1:%d" % port, "--no-reload",
                          "--stats"] + list(extra), stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=e)
    t = threading.Thread(target=stream, args=(p, data, STREAM_S))
    t0 = time.time()
    t.start()
    if during:
        during(t0)
    t.join()
    p.stdin = None  # closed by stream()
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        return -1, "timed out: " + err.decode(errors="replace")[-500:]
    return p.returncode, err.decode(errors="replace")


def facts(port, auth=None):
    """Every fact key: {key: (type, value, has_ttl)}."""
    c = Resp(port)
    if auth:
        c.cmd("AUTH", auth)
    out = {}
    for k in c.scan("*"):
        k = k.decode() if isinstance(k, bytes) else k
        if not k.startswith(FACTS):
            continue
        t = c.cmd("TYPE", k)
        t = t.decode() if isinstance(t, bytes) else t
        if t == "hash":
            v = tuple(sorted(c.hgetall(k).items()))
        elif t == "string":
            v = c.cmd("GET", k)
        else:
            v = t
        out[k] = (t, v, c.cmd("PTTL", k) > 0)
    c.close()
    return out


def diff(ref, got):
    lines = []
    for k in sorted(set(ref) | set(got)):
        if ref.get(k) != got.get(k):
            lines.append("%s: never-failed %s, after fault %s" % (k, ref.get(k), got.get(k)))
    return lines


def honest(name, rc, err):
    """Exit 0 with nothing lost, or exit 1 saying how much was lost."""
    if rc == 1:
        return check("writes lost" in err, "%s: exit 1 without saying what was lost: %s" %
                     (name, err[-400:]))
    return check(rc == 0 and "writes lost" not in err,
                 "%s: exit %d: %s" % (name, rc, err[-600:]))


def compare(name, ref, port, auth=None):
    d = diff(ref, facts(port, auth))
    check(not d, "%s: %d facts differ:\n    %s" % (name, len(d), "\n    ".join(d[:8])))
    return not d


def main():
    if not os.access(MCPROBE, os.X_OK):
        print("FAIL: %s not built" % MCPROBE)
        return 1
    rnd = random.Random(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(tmp, "sc.pcap")
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_scenario.py"), "--out", pcap,
                        "--expect", os.path.join(tmp, "sc.json"), "--subscribers",
                        "12" if SAN else "40", "--spacing", "0.05", "--seed", "15"],
                       check=True, stdout=subprocess.DEVNULL)
        data = open(pcap, "rb").read()

        r = RedisServer(port=own_port())
        try:
            rc, err = run_probe(data, r.port)
            check(rc == 0, "reference run: exit %d: %s" % (rc, err[-600:]))
            ref = facts(r.port)
        finally:
            r.stop()
        if not check(len(ref) > 20, "reference: only %d facts" % len(ref)):
            return report()
        print("reference: %d facts (seed %d)" % (len(ref), SEED))

        # The cases are independent (own Redis, own probe) and wait on sleeps, not the CPU
        # (4 s of CPU in 60 s serially): they run WORKERS at a time, results printed in order.
        draws = [(rnd.uniform(0.1, STREAM_S), rnd.uniform(0.1, 1.0)) for _ in range(RUNS)]
        jobs = [(auth_cases, (data, ref, tmp))]  # longest (three runs in a row) first
        jobs += [(kill_case, (data, ref, k, d)) for k, d in draws]
        jobs += [(pause_case, (data, ref)), (past_deadline_case, (data,)),
                 (late_case, (data, ref))]
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            futs = [pool.submit(f, *a) for f, a in jobs]
            lines = [f.result() for f in futs]
        for out in lines[1:] + lines[:1]:  # the order of the serial version
            print("\n".join(out))
    return report()


def own_port():
    """A free port no other case of this run holds: a killed Redis restarts on its port,
    a late one starts on it, and a case running beside it must not take it meanwhile."""
    with _ports_lock:
        while True:
            p = free_port()
            if p not in _ports:
                _ports.add(p)
                return p


def kill_case(data, ref, kill_at, down):
    """Kill at a random moment, restart empty on the same port."""
    r = RedisServer(port=own_port())

    def fault(t0):
        time.sleep(max(0, t0 + kill_at - time.time()))
        r.kill()
        time.sleep(down)
        r.start()
    try:
        rc, err = run_probe(data, r.port, during=fault)
        name = "kill at %.2f s, down %.2f s" % (kill_at, down)
        ok = honest(name, rc, err) & compare(name, ref, r.port)
        return ["%-32s %s (exit %d)" % (name, "ok" if ok else "FAIL", rc)]
    finally:
        r.stop()


def pause_case(data, ref):
    """Pause within the command timeout."""
    r = RedisServer(port=own_port())
    try:
        def pause(t0):
            time.sleep(STREAM_S / 3)
            r.p.send_signal(signal.SIGSTOP)
            time.sleep(1.0)
            r.p.send_signal(signal.SIGCONT)
        rc, err = run_probe(data, r.port, during=pause)
        ok = honest("pause 1 s", rc, err) & compare("pause 1 s", ref, r.port)
        return ["%-32s %s (exit %d)" % ("SIGSTOP 1 s", "ok" if ok else "FAIL", rc)]
    finally:
        r.p.send_signal(signal.SIGCONT)
        r.stop()


def past_deadline_case(data):
    """Paused until the final flush gave up."""
    r = RedisServer(port=own_port())
    try:
        r.p.send_signal(signal.SIGSTOP)
        rc, err = run_probe(data, r.port)
        ok = check(rc == 1 and "writes lost" in err,
                   "paused past the deadline: exit %d: %s" % (rc, err[-500:]))
        return ["%-32s %s (exit %d)" % ("SIGSTOP past the deadline", "ok" if ok else "FAIL", rc)]
    finally:
        r.p.send_signal(signal.SIGCONT)
        r.stop()


def late_case(data, ref):
    """Redis comes up 1.5 s after the probe."""
    port = own_port()
    holder = {}

    def late(t0):
        time.sleep(1.5)
        holder["r"] = RedisServer(port=port)
    rc, err = run_probe(data, port, during=late)
    try:
        ok = honest("late start", rc, err) & compare("late start", ref, port)
        return ["%-32s %s (exit %d)" % ("Redis up 1.5 s late", "ok" if ok else "FAIL", rc)]
    finally:
        if "r" in holder:
            holder["r"].stop()


def auth_cases(data, ref, tmp):
    out = []
    r = RedisServer(port=own_port(), extra=["--requirepass", SECRET])
    try:
        af = os.path.join(tmp, "redis.auth")
        with open(af, "w") as f:
            f.write(SECRET + "\n")
        os.chmod(af, 0o600)
        rc, err = run_probe(data, r.port, ["--redis-auth-file", af])
        ok = honest("auth file", rc, err) & compare("auth file", ref, r.port, SECRET)
        ok &= check(SECRET not in err, "auth file: the password was echoed")
        out.append("%-32s %s (exit %d)" % ("requirepass, --redis-auth-file", "ok" if ok else "FAIL",
                                      rc))
        c = Resp(r.port)
        c.cmd("AUTH", SECRET)
        c.cmd("FLUSHALL")
        c.close()
        rc, err = run_probe(data, r.port)
        n = err.count("Redis requires a password")
        ok = check(rc == 1 and n == 1 and "writes lost" in err and not facts(r.port, SECRET),
                   "no password: exit %d, message %d times: %s" % (rc, n, err[-600:]))
        out.append("%-32s %s (exit %d, said %d time(s))" % ("requirepass, no password",
                                                       "ok" if ok else "FAIL", rc, n))
        rc, err = run_probe(data, r.port, ["--redis-auth", "wrong-" + SECRET])
        n = err.count("AUTH refused")
        ok = check(rc == 1 and n == 1 and SECRET not in err,
                   "wrong password: exit %d, message %d times: %s" % (rc, n, err[-600:]))
        out.append("%-32s %s (exit %d, said %d time(s))" % ("requirepass, wrong password",
                                                       "ok" if ok else "FAIL", rc, n))
    finally:
        r.stop()
    return out


def report():
    for e in errors[:30]:
        print("FAIL:", e)
    print("FAIL (seed %d)" % SEED if errors else "PASS")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

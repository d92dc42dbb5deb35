"""mc_resp.py - a minimal RESP2 client and redis-server launcher for the microcloud tests.

Written for the tests so that they read Redis independently of the code under test (no
hiredis, no redis-py needed). Used by tests/it_microcloud_*.py and bench/.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time


class RespError(Exception):
	pass


class Resp:
	def __init__(self, port, host="127.0.0.1", timeout=5.0):
		self.s = socket.create_connection((host, port), timeout=timeout)
		self.buf = b""

	def close(self):
		self.s.close()

	def _line(self):
		while b"\r\n" not in self.buf:
			d = self.s.recv(65536)
			if not d:
				raise ConnectionError("connection closed")
			self.buf += d
		line, self.buf = self.buf.split(b"\r\n", 1)
		return line

	def _exact(self, n):
		while len(self.buf) < n + 2:
			d = self.s.recv(65536)
			if not d:
				raise ConnectionError("connection closed")
			self.buf += d
		data, self.buf = self.buf[:n], self.buf[n + 2:]
		return data

	def read(self):
		line = self._line()
		t, rest = line[:1], line[1:]
		if t == b"+":
			return rest.decode()
		if t == b"-":
			return RespError(rest.decode())
		if t == b":":
			return int(rest)
		if t == b"$":
			n = int(rest)
			return None if n < 0 else self._exact(n).decode("utf-8", "replace")
		if t == b"*":
			n = int(rest)
			return None if n < 0 else [self.read() for _ in range(n)]
		raise ConnectionError("bad RESP type %r" % t)

	def send(self, *args):
		out = [b"*%d\r\n" % len(args)]
		for a in args:
			a = a if isinstance(a, bytes) else str(a).encode()
			out.append(b"$%d\r\n%s\r\n" % (len(a), a))
		self.s.sendall(b"".join(out))

	def cmd(self, *args):
		self.send(*args)
		r = self.read()
		if isinstance(r, RespError):
			raise r
		return r

	def hgetall(self, key):
		r = self.cmd("HGETALL", key) or []
		return dict(zip(r[0::2], r[1::2]))

	def scan(self, pattern):
		cur, keys = "0", []
		while True:
			cur, batch = self.cmd("SCAN", cur, "MATCH", pattern, "COUNT", 1000)
			keys += batch
			if cur == "0":
				return keys


def free_port():
	s = socket.socket()
	s.bind(("127.0.0.1", 0))
	p = s.getsockname()[1]
	s.close()
	return p


class RedisServer:
	"""redis-server on a free loopback port, no persistence; stop() kills it."""

	def __init__(self, port=None, extra=()):
		if not shutil.which("redis-server"):
			raise SystemExit("FAIL: redis-server not installed (apt-get install redis-server)")
		self.port = port or free_port()
		self.dir = tempfile.mkdtemp(prefix="mcp-redis-")
		self.extra = list(extra)
		self.p = None
		self.start()

	def start(self):
		self.p = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
					   "--save", "", "--appendonly", "no", "--dir", self.dir,
					   "--loglevel", "warning"] + self.extra,
					  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
		end = time.time() + 5
		while time.time() < end:
			if self.p.poll() is not None:
				break  # exited: port taken or bad option
			try:
				c = Resp(self.port, timeout=0.5)
				c.send("INFO", "server")
				r = c.read()
				c.close()
			except OSError:
				time.sleep(0.02)
				continue
			# ours, not someone else's server on that port (NOAUTH: cannot tell, trust pid)
			if isinstance(r, RespError) or ("process_id:%d\r" % self.p.pid) in r:
				return
			break
		raise SystemExit("FAIL: redis-server did not start on port %d" % self.port)

	def kill(self):
		if self.p:
			self.p.kill()
			self.p.wait()
			self.p = None

	def stop(self):
		self.kill()
		shutil.rmtree(self.dir, ignore_errors=True)


class ClusterResp:
	"""Follows MOVED/ASK like redis-cli -c, for reading a Redis Cluster in tests."""

	def __init__(self, port):
		self.conns = {}
		self.seed = ("127.0.0.1", port)

	def _conn(self, addr):
		if addr not in self.conns:
			self.conns[addr] = Resp(addr[1], host=addr[0])
		return self.conns[addr]

	def cmd(self, *args):
		addr, asking = self.seed, False
		for _ in range(6):
			c = self._conn(addr)
			if asking:
				c.cmd("ASKING")
			c.send(*args)
			r = c.read()
			if isinstance(r, RespError):
				msg = str(r)
				if msg.startswith("MOVED ") or msg.startswith("ASK "):
					host, port = msg.split()[2].rsplit(":", 1)
					addr, asking = (host or "127.0.0.1", int(port)), msg.startswith("ASK ")
					continue
				raise r
			return r
		raise RespError("too many redirections for %r" % (args,))

	def hgetall(self, key):
		r = self.cmd("HGETALL", key) or []
		return dict(zip(r[0::2], r[1::2]))

	def masters(self):
		out = []
		for sl in self._conn(self.seed).cmd("CLUSTER", "SLOTS"):
			addr = (sl[2][0] or "127.0.0.1", int(sl[2][1]))
			if addr not in out:
				out.append(addr)
		return out

	def scan(self, pattern):
		keys = []
		for addr in self.masters():
			keys += self._conn(addr).scan(pattern)
		return keys

	def close(self):
		for c in self.conns.values():
			c.close()


def free_cluster_port():
	"""A port P with P and its cluster bus port P + 10000 free, below the ephemeral range."""
	import random
	for _ in range(1000):
		p = random.randint(12000, 19999)
		ok = True
		for q in (p, p + 10000):
			s = socket.socket()
			try:
				s.bind(("127.0.0.1", q))
			except OSError:
				ok = False
			finally:
				s.close()
		if ok:
			return p
	raise SystemExit("FAIL: no free port pair for a cluster node")

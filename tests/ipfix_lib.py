"""ipfix_lib.py - a small independent IPFIX (RFC 7011) / NetFlow v9 (RFC 3954) decoder for
the export tests: templates, variable-length fields, enterprise (PEN) fields, v9 padding.
Records come back as dicts keyed by (pen, id) with raw bytes values.
"""

import struct


class Decoder:
	def __init__(self):
		self.templates = {}  # (version, domain, template id) -> [(pen, id, len)]
		self.messages = 0

	def _template_set(self, ver, dom, body):
		pos = 0
		while pos + 4 <= len(body):
			tid, n = struct.unpack_from("!HH", body, pos)
			pos += 4
			if tid == 0 and n == 0:
				break  # v9 padding
			fields = []
			for _ in range(n):
				fid, flen = struct.unpack_from("!HH", body, pos)
				pos += 4
				pen = 0
				if ver == 10 and fid & 0x8000:
					pen = struct.unpack_from("!I", body, pos)[0]
					pos += 4
					fid &= 0x7fff
				fields.append((pen, fid, flen))
			self.templates[(ver, dom, tid)] = fields

	def _data_set(self, ver, dom, sid, body):
		fields = self.templates.get((ver, dom, sid))
		if fields is None:
			raise ValueError("data set %d before its template" % sid)
		recs, pos = [], 0
		minlen = sum(1 if f[2] == 0xffff else f[2] for f in fields)
		while len(body) - pos >= max(minlen, 1):
			rec = {}
			for pen, fid, flen in fields:
				if flen == 0xffff:
					flen = body[pos]
					pos += 1
					if flen == 255:
						flen = struct.unpack_from("!H", body, pos)[0]
						pos += 2
				if pos + flen > len(body):
					raise ValueError("record runs past its set")
				rec[(pen, fid)] = body[pos:pos + flen]
				pos += flen
			recs.append(rec)
		if ver == 10 and pos != len(body):
			raise ValueError("%d stray bytes in an IPFIX set" % (len(body) - pos))
		return recs

	def message(self, data):
		"""Decodes one message; returns its data records."""
		ver = struct.unpack_from("!H", data, 0)[0]
		if ver == 10:
			mlen, _t, _seq, dom = struct.unpack_from("!HIII", data, 2)
			if mlen != len(data):
				raise ValueError("IPFIX length %d, datagram %d" % (mlen, len(data)))
			pos = 16
		elif ver == 9:
			dom = struct.unpack_from("!I", data, 16)[0]
			pos = 20
		else:
			raise ValueError("version %d" % ver)
		self.messages += 1
		recs = []
		while pos + 4 <= len(data):
			sid, slen = struct.unpack_from("!HH", data, pos)
			if slen < 4 or pos + slen > len(data):
				raise ValueError("bad set length %d" % slen)
			body = data[pos + 4:pos + slen]
			if sid in (0, 2):
				self._template_set(ver, dom, body)
			elif sid >= 256:
				recs += self._data_set(ver, dom, sid, body)
			pos += slen
		if pos != len(data):
			raise ValueError("trailing bytes")
		return recs

	def stream(self, buf):
		"""Decodes IPFIX messages from a TCP byte stream; returns (records, rest)."""
		recs = []
		while len(buf) >= 4:
			mlen = struct.unpack_from("!H", buf, 2)[0]
			if mlen < 16:
				raise ValueError("IPFIX length %d" % mlen)
			if len(buf) < mlen:
				break
			recs += self.message(buf[:mlen])
			buf = buf[mlen:]
		return recs, buf


def uint(v):
	return int.from_bytes(v, "big")


def _udp_pcap(port, out):
	"""Writes every datagram to a pcap (raw IPv4/UDP) for tshark, until SIGTERM."""
	import signal
	import socket
	import sys
	import time
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
	s.bind(("127.0.0.1", port))
	f = open(out, "wb")
	f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
	f.flush()
	signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
	print("ready", flush=True)
	lo = socket.inet_aton("127.0.0.1")
	while True:
		d = s.recv(65535)
		ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(d), 0, 0, 64, 17, 0, lo, lo)
		pkt = ip + struct.pack("!HHHH", 40000, port, 8 + len(d), 0) + d
		t = time.time()
		f.write(struct.pack("<IIII", int(t), int(t % 1 * 1e6), len(pkt), len(pkt)) + pkt)
		f.flush()


def _tcp_collect(port, out):
	"""IPFIX over TCP: one JSON line per decoded record (pkts, bytes, imsi), flushed per
	message, so what the file holds is what arrived even if this process is killed."""
	import json
	import select
	import socket
	ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
	ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	ls.bind(("127.0.0.1", port))
	ls.listen(4)
	f = open(out, "a")
	print("ready", flush=True)
	conns = {}
	while True:
		r, _, _ = select.select([ls] + list(conns), [], [], 1.0)
		for s in r:
			if s is ls:
				c, _ = ls.accept()
				conns[c] = [Decoder(), b""]
				continue
			d = s.recv(65536)
			if not d:
				s.close()
				del conns[s]
				continue
			st = conns[s]
			recs, st[1] = st[0].stream(st[1] + d)
			for rec in recs:
				f.write(json.dumps({
					"pkts": uint(rec[(0, 2)]) + uint(rec.get((29305, 2), b"")),
					"bytes": uint(rec[(0, 1)]) + uint(rec.get((29305, 1), b"")),
					"imsi": rec[(0, 455)].decode()}) + "\n")
			f.flush()


if __name__ == "__main__":
	import sys
	if sys.argv[1] == "udp-pcap":
		_udp_pcap(int(sys.argv[2]), sys.argv[3])
	elif sys.argv[1] == "tcp":
		_tcp_collect(int(sys.argv[2]), sys.argv[3])

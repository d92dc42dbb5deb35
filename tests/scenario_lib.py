"""scenario_lib.py - wire builders for the synthetic GTP scenario (tests/gen_scenario.py).

GTP-C messages are encoded by hand (TS 29.060 for GTPv1-C, TS 29.274 for GTPv2-C) so that
every IE length is exactly what the spec says (scapy 2.5 gets several GTPv2 IE lengths
wrong); the outer Ethernet/IPv4/UDP/GTP-U (TS 29.281) framing is also written by hand for
speed. Inner user packets (IPv4/IPv6, TCP, UDP, DNS, TLS ClientHello) are built with scapy.
The pcap writer is the classic libpcap format, link type Ethernet, microsecond stamps.
"""

import ipaddress
import struct

# ---------------------------------------------------------------------------------------------
# pcap

class PcapWriter:
	def __init__(self, path, linktype=1, snaplen=65535):
		self.f = open(path, "wb")
		self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))
		self.frames = 0

	def write(self, ts_us, frame):
		self.f.write(struct.pack("<IIII", ts_us // 1000000, ts_us % 1000000, len(frame),
					 len(frame)))
		self.f.write(frame)
		self.frames += 1

	def close(self):
		self.f.close()

# ---------------------------------------------------------------------------------------------
# outer framing

def ip4(s):
	return ipaddress.IPv4Address(s).packed

def csum16(data):
	if len(data) % 2:
		data += b"\0"
	s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
	while s >> 16:
		s = (s & 0xFFFF) + (s >> 16)
	return (~s) & 0xFFFF

def read_pcap(path):
	with open(path, "rb") as f:
		data = f.read()
	magic = struct.unpack_from("<I", data, 0)[0]
	if magic != 0xa1b2c3d4:
		raise SystemExit("FAIL: %s: expected a little-endian microsecond pcap" % path)
	frames, off = [], 24
	while off + 16 <= len(data):
		sec, usec, incl, orig = struct.unpack_from("<IIII", data, off)
		frames.append((sec * 1000000 + usec, data[off:off + 16 + incl]))
		off += 16 + incl
	return data[:24], frames

def mac_for(ip):
	"""A stable locally administered MAC per IPv4 address."""
	return b"\x02\x00" + ip4(ip)

class Framer:
	"""Builds Ethernet/IPv4/UDP frames with increasing IP ids."""

	def __init__(self):
		self.ident = 1

	def ipv4_udp(self, src, dst, sport, dport, payload, vlan=0):
		ulen = 8 + len(payload)
		total = 20 + ulen
		self.ident = (self.ident + 1) & 0xFFFF
		hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, self.ident, 0x4000, 64, 17, 0,
				  ip4(src), ip4(dst))
		hdr = hdr[:10] + struct.pack("!H", csum16(hdr)) + hdr[12:]
		udp = struct.pack("!HHHH", sport, dport, ulen, 0)
		eth = mac_for(dst) + mac_for(src)
		if vlan:
			eth += struct.pack("!HH", 0x8100, vlan)
		eth += b"\x08\x00"
		return eth + hdr + udp + payload

	def gtpu(self, src, dst, teid, inner, seq=None, mtype=0xFF):
		"""GTP-U message (T-PDU by default); seq: S flag + sequence number."""
		if seq is None:
			g = struct.pack("!BBHI", 0x30, mtype, len(inner), teid)
		else:
			g = struct.pack("!BBHIHBB", 0x32, mtype, len(inner) + 4, teid, seq & 0xFFFF,
					0, 0)
		return self.ipv4_udp(src, dst, 2152, 2152, g + inner)

	def gtpc(self, src, dst, msg):
		return self.ipv4_udp(src, dst, 2123, 2123, msg)

# ---------------------------------------------------------------------------------------------
# shared encodings

def tbcd(digits):
	"""TBCD (TS 29.002): two digits per octet, low nibble first, 0xF filler."""
	if len(digits) % 2:
		digits += "F"
	out = bytearray()
	for i in range(0, len(digits), 2):
		out.append(int(digits[i + 1], 16) << 4 | int(digits[i], 16))
	return bytes(out)

def apn_enc(apn):
	out = b""
	for label in apn.split("."):
		out += bytes([len(label)]) + label.encode()
	return out

def plmn(mcc="001", mnc="01"):
	m3 = mnc[2] if len(mnc) == 3 else "F"
	return bytes([int(mcc[1]) << 4 | int(mcc[0]), int(m3, 16) << 4 | int(mcc[2]),
		      int(mnc[1]) << 4 | int(mnc[0])])

# ---------------------------------------------------------------------------------------------
# GTPv1-C (TS 29.060)

V1_CREATE_REQ, V1_CREATE_RSP = 16, 17
V1_UPDATE_REQ, V1_UPDATE_RSP = 18, 19
V1_DELETE_REQ, V1_DELETE_RSP = 20, 21

def v1_tv(t, value):
	"""TV IE (type < 128): fixed length known from the type."""
	return bytes([t]) + value

def v1_tlv(t, value):
	return struct.pack("!BH", t, len(value)) + value

def v1_msg(mtype, teid, seq, ies):
	body = struct.pack("!HBB", seq, 0, 0) + b"".join(ies)
	return struct.pack("!BBHI", 0x32, mtype, len(body), teid) + body

def v1_cause(c):
	return v1_tv(1, bytes([c]))

def v1_imsi(imsi):
	return v1_tv(2, tbcd(imsi))

def v1_rai(lac=0x1234, rac=0x56):
	return v1_tv(3, plmn() + struct.pack("!HB", lac, rac))

def v1_reordering():
	return v1_tv(8, b"\xfe")

def v1_recovery(n=1):
	return v1_tv(14, bytes([n]))

def v1_selection_mode():
	return v1_tv(15, b"\xfc")

def v1_teid_data(teid):
	return v1_tv(16, struct.pack("!I", teid))

def v1_teid_ctrl(teid):
	return v1_tv(17, struct.pack("!I", teid))

def v1_teardown():
	return v1_tv(19, b"\xff")

def v1_nsapi(n):
	return v1_tv(20, bytes([n & 0x0F]))

def v1_charging_id(c):
	return v1_tv(127, struct.pack("!I", c))

def v1_eua(ipv4=None):
	"""End User Address: IETF organisation, PDP type IPv4; empty address asks for one."""
	return v1_tlv(128, b"\xf1\x21" + (ip4(ipv4) if ipv4 else b""))

def v1_apn(apn):
	return v1_tlv(131, apn_enc(apn))

def v1_gsn_addr(ip):
	return v1_tlv(133, ip4(ip))

def v1_msisdn(msisdn):
	return v1_tlv(134, b"\x91" + tbcd(msisdn))

def v1_qos():
	# Allocation/retention priority + R99 QoS profile (TS 24.008 10.5.6.5), 12 octets.
	return v1_tlv(135, bytes([0x02, 0x23, 0x72, 0x1F, 0x91, 0x96, 0x40, 0x40, 0x74, 0x81,
				  0x40, 0x40]))

def v1_tft_udp_port(port):
	# Create new TFT, one bidirectional packet filter: protocol UDP + single remote port.
	pf = bytes([0x30, 17, 0x50]) + struct.pack("!H", port)
	return v1_tlv(137, bytes([0x21, 0x31, 0x10, len(pf)]) + pf)

def v1_rat(rat):
	return v1_tlv(151, bytes([rat]))

def v1_imeisv(imei):
	return v1_tlv(154, tbcd(imei))

# ---------------------------------------------------------------------------------------------
# GTPv2-C (TS 29.274)

V2_CREATE_SESSION_REQ, V2_CREATE_SESSION_RSP = 32, 33
V2_MODIFY_BEARER_REQ, V2_MODIFY_BEARER_RSP = 34, 35
V2_DELETE_SESSION_REQ, V2_DELETE_SESSION_RSP = 36, 37
V2_CREATE_BEARER_REQ, V2_CREATE_BEARER_RSP = 95, 96

# F-TEID interface types (TS 29.274 8.22)
IF_S1U_ENB, IF_S1U_SGW, IF_S5U_PGW, IF_S11_MME, IF_S11_SGW, IF_S5C_PGW = 0, 1, 5, 10, 11, 7

def v2_ie(t, value, instance=0):
	return struct.pack("!BHB", t, len(value), instance & 0x0F) + value

def v2_msg(mtype, teid, seq, ies):
	body = struct.pack("!I", teid) + struct.pack("!I", seq << 8) + b"".join(ies)
	return struct.pack("!BBH", 0x48, mtype, len(body)) + body

def v2_imsi(imsi):
	return v2_ie(1, tbcd(imsi))

def v2_cause(c):
	return v2_ie(2, bytes([c, 0]))

def v2_recovery(n=1):
	return v2_ie(3, bytes([n]))

def v2_apn(apn):
	return v2_ie(71, apn_enc(apn))

def v2_ambr():
	return v2_ie(72, struct.pack("!II", 100000, 200000))

def v2_ebi(ebi, instance=0):
	return v2_ie(73, bytes([ebi & 0x0F]), instance)

def v2_mei(imei):
	return v2_ie(75, tbcd(imei))

def v2_msisdn(msisdn):
	return v2_ie(76, tbcd(msisdn))

def v2_paa(ipv4=None, ipv6=None, plen=64):
	if ipv4 and ipv6:
		v = bytes([3, plen]) + ipaddress.IPv6Address(ipv6).packed + ip4(ipv4)
	elif ipv6:
		v = bytes([2, plen]) + ipaddress.IPv6Address(ipv6).packed
	else:
		v = bytes([1]) + ip4(ipv4 or "0.0.0.0")
	return v2_ie(79, v)

def v2_bearer_qos(qci=9):
	return v2_ie(80, bytes([0x48, qci]) + bytes(20))

def v2_rat(rat):
	return v2_ie(82, bytes([rat]))

def v2_serving_network():
	return v2_ie(83, plmn())

def v2_uli(tac, eci):
	return v2_ie(86, bytes([0x18]) + plmn() + struct.pack("!H", tac) + plmn() +
		     struct.pack("!I", eci & 0x0FFFFFFF))

def v2_fteid(iface, teid, ipv4, instance=0):
	return v2_ie(87, bytes([0x80 | iface]) + struct.pack("!I", teid) + ip4(ipv4), instance)

def v2_bearer_ctx(ies, instance=0):
	return v2_ie(93, b"".join(ies), instance)

def v2_charging_id(c):
	return v2_ie(94, struct.pack("!I", c))

def v2_tft_udp_port(port):
	pf = bytes([0x30, 17, 0x50]) + struct.pack("!H", port)
	return v2_ie(84, bytes([0x21, 0x31, 0x10, len(pf)]) + pf)

def v2_pdn_type(t):
	return v2_ie(99, bytes([t]))

def v2_apn_restriction():
	return v2_ie(127, b"\x00")

def v2_selection_mode():
	return v2_ie(128, b"\x00")

# ---------------------------------------------------------------------------------------------
# QUIC v1 client Initial (RFC 9000 17.2.2, protection RFC 9001 5): a CRYPTO frame with a TLS
# ClientHello (SNI, ALPN h3, transport parameters), padded to 1200 bytes, encrypted with the
# Initial keys derived from the destination connection id, header-protected.

QUIC_V1_SALT = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")

def _hkdf_expand_label(secret, label, length):
	from cryptography.hazmat.primitives import hashes
	from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
	full = b"tls13 " + label.encode()
	info = struct.pack("!H", length) + bytes([len(full)]) + full + b"\x00"
	return HKDFExpand(hashes.SHA256(), length, info).derive(secret)

def _quic_varint(v):
	if v < 64:
		return bytes([v])
	if v < 16384:
		return struct.pack("!H", 0x4000 | v)
	return struct.pack("!I", 0x80000000 | v)

def quic_client_hello(sni):
	"""TLS 1.3 ClientHello handshake message (no record header) for QUIC."""
	def ext(t, body):
		return struct.pack("!HH", t, len(body)) + body
	name = sni.encode()
	sn = ext(0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name)
	alpn = ext(16, struct.pack("!HB", 3, 2) + b"h3")
	groups = ext(10, struct.pack("!HH", 2, 29))
	versions = ext(43, b"\x02\x03\x04")
	sigalgs = ext(13, struct.pack("!HHHH", 6, 0x0403, 0x0804, 0x0401))
	keyshare = ext(51, struct.pack("!HHH", 36, 29, 32) + bytes(range(32)))
	tp = ext(0x39, bytes([0x04, 0x04, 0x80, 0x10, 0x00, 0x00,   # initial_max_data
			      0x01, 0x04, 0x80, 0x00, 0x75, 0x30]))  # max_idle_timeout
	exts = sn + alpn + groups + versions + sigalgs + keyshare + tp
	body = b"\x03\x03" + bytes(range(32)) + b"\x00" + struct.pack("!HHHH", 6, 0x1301,
								      0x1302, 0x1303) + \
		b"\x01\x00" + struct.pack("!H", len(exts)) + exts
	return b"\x01" + struct.pack("!I", len(body))[1:] + body

def quic_initial(dcid, scid, pn, sni):
	from cryptography.hazmat.primitives import hashes, hmac
	from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
	from cryptography.hazmat.primitives.ciphers.aead import AESGCM
	h = hmac.HMAC(QUIC_V1_SALT, hashes.SHA256())
	h.update(dcid)
	initial = h.finalize()
	secret = _hkdf_expand_label(initial, "client in", 32)
	key = _hkdf_expand_label(secret, "quic key", 16)
	iv = _hkdf_expand_label(secret, "quic iv", 12)
	hp = _hkdf_expand_label(secret, "quic hp", 16)
	ch = quic_client_hello(sni)
	frames = b"\x06" + _quic_varint(0) + _quic_varint(len(ch)) + ch
	pn_len = 4
	hdr_len = 1 + 4 + 1 + len(dcid) + 1 + len(scid) + 1 + 2 + pn_len
	pad = max(0, 1200 - hdr_len - len(frames) - 16)
	payload = frames + b"\x00" * pad
	length = pn_len + len(payload) + 16
	hdr = bytes([0xC0 | (pn_len - 1)]) + struct.pack("!I", 1) + bytes([len(dcid)]) + dcid + \
		bytes([len(scid)]) + scid + b"\x00" + struct.pack("!H", 0x4000 | length) + \
		struct.pack("!I", pn)
	nonce = bytes(a ^ b for a, b in zip(iv, bytes(8) + struct.pack("!I", pn)))
	ct = AESGCM(key).encrypt(nonce, payload, hdr)
	pn_off = len(hdr) - pn_len
	sample = ct[4 - pn_len:4 - pn_len + 16]
	enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
	mask = enc.update(sample) + enc.finalize()
	out = bytearray(hdr + ct)
	out[0] ^= mask[0] & 0x0F
	for i in range(pn_len):
		out[pn_off + i] ^= mask[1 + i]
	return bytes(out)

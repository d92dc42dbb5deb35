"""bpf_array_read.py - every value of a pinned BPF array map in one bpf(2) batch lookup.

Tests scan whole maps (the 500000-entry capture map) several times per run; bpftool -j prints
each entry as JSON (tens of MB) and took 10-15 s per scan on the 2-core CI VM, this takes
milliseconds. It reads through the kernel like bpftool does, independent of the product code.
The bpf syscall number is per architecture (asm/unistd.h); another one fails with its name."""

import ctypes
import os
import platform
import struct

# __NR_bpf of each architecture (arch/*/include/uapi/asm/unistd*.h; asm-generic for arm64,
# riscv64 and loongarch64)
NR_BPF_BY_ARCH = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "loongarch64": 280,
		  "ppc64le": 361, "s390x": 351, "i686": 357, "armv7l": 386}
ARCH = platform.machine()
NR_BPF = NR_BPF_BY_ARCH.get(ARCH)
BPF_OBJ_GET, BPF_OBJ_GET_INFO_BY_FD, BPF_MAP_LOOKUP_BATCH = 7, 15, 24
BPF_MAP_TYPE_ARRAY = 2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _bpf(cmd, attr):
	if NR_BPF is None:
		raise OSError("bpf_array_read: bpf syscall number unknown for %s (add it to "
			      "NR_BPF_BY_ARCH)" % ARCH)
	buf = ctypes.create_string_buffer(bytes(attr), 128)
	r = _libc.syscall(ctypes.c_long(NR_BPF), ctypes.c_long(cmd), buf, ctypes.c_long(128))
	return r, ctypes.get_errno(), buf.raw


def read_array(pin):
	"""(value_size, [raw value bytes per index]) of the pinned array map at pin."""
	path = ctypes.create_string_buffer(pin.encode())
	fd, err, _ = _bpf(BPF_OBJ_GET, struct.pack("=QII", ctypes.addressof(path), 0, 0))
	if fd < 0:
		raise OSError(err, "BPF_OBJ_GET %s: %s" % (pin, os.strerror(err)))
	try:
		info = ctypes.create_string_buffer(88)
		r, err, _ = _bpf(BPF_OBJ_GET_INFO_BY_FD,
				 struct.pack("=IIQ", fd, len(info), ctypes.addressof(info)))
		if r < 0:
			raise OSError(err, "BPF_OBJ_GET_INFO_BY_FD: %s" % os.strerror(err))
		mtype, _, ksize, vsize, n = struct.unpack_from("=IIIII", info.raw)
		if mtype != BPF_MAP_TYPE_ARRAY or ksize != 4:
			raise ValueError("%s: not an array map (type %d)" % (pin, mtype))
		keys = ctypes.create_string_buffer(4 * n)
		vals = ctypes.create_string_buffer(vsize * n)
		out_batch = ctypes.create_string_buffer(8)
		r, err, raw = _bpf(BPF_MAP_LOOKUP_BATCH, struct.pack(
			"=QQQQIIQQ", 0, ctypes.addressof(out_batch), ctypes.addressof(keys),
			ctypes.addressof(vals), n, fd, 0, 0))
		count = struct.unpack_from("=I", raw, 32)[0]
		if (r < 0 and err != 2) or count != n:  # ENOENT: the end reached in this batch
			raise OSError(err, "BPF_MAP_LOOKUP_BATCH %s: %d of %d (%s)" % (
				pin, count, n, os.strerror(err)))
		idx = struct.unpack("=%dI" % n, keys.raw)
		if list(idx) != list(range(n)):
			raise ValueError("%s: batch keys are not 0..%d in order" % (pin, n - 1))
		v = vals.raw
		return vsize, [v[i * vsize:(i + 1) * vsize] for i in range(n)]
	finally:
		os.close(fd)

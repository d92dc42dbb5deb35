# mcprobe - build, test, bench, demo. Outputs go to $(BUILD)/ (default build/); V=1 is verbose.
#
#   make deps    install every build/test dependency (Debian packages, idempotent)
#   make         build mcprobe, the XDP object and the tools
#   make check   deps + build (-Werror) + every test, then the suite again under ASan/UBSan
#   make bench   benchmarks against peers (ndpiReader, softflowd) measured in the same run
#   make demo    end-to-end run on a bundled capture
#   make fuzz    libFuzzer targets (FUZZ_SECONDS per target)

BUILD ?= build
NPROC := $(shell nproc 2>/dev/null || echo 2)
V ?= 0
ifeq ($(V),1)
Q :=
else
Q := @
endif

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
PKGS := libpcap libndpi libbpf libxdp hiredis json-c libxxhash libnghttp2 libcap
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# -lgcrypt: flow/dpi.c initialises libgcrypt once before the shards create their nDPI modules
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lgcrypt -lelf -lz -lpthread -lm

WERROR ?= 0
SAN ?= 0
OPT ?= -O2
CFLAGS_BASE := -std=gnu11 $(OPT) -g -Wall -Wextra -Wno-unused-parameter -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -D_GNU_SOURCE -Iinclude -Iuserspace -I$(BUILD)/bpf
ifeq ($(WERROR),1)
CFLAGS_BASE += -Werror
endif
ifeq ($(SAN),1)
CFLAGS_BASE += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
CFLAGS ?=
ALL_CFLAGS = $(CFLAGS_BASE) $(PKG_CFLAGS) $(CFLAGS)

LIB_SRCS := $(filter-out userspace/main.c,$(wildcard userspace/*.c userspace/*/*.c userspace/*/*/*.c))
LIB_OBJS := $(patsubst userspace/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIB := $(BUILD)/libmcp.a
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRCS))
TOOL_SRCS := $(wildcard tools/*.c)
TOOLS := $(patsubst tools/%.c,$(BUILD)/%,$(TOOL_SRCS))
TEST_SRCS := $(wildcard tests/test_*.c)
TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
# Test helper programs (oracle dumpers and the like): tests/tool_*.c, not run by themselves.
TESTTOOL_SRCS := $(wildcard tests/tool_*.c)
TESTTOOLS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TESTTOOL_SRCS))
BENCH_SRCS := $(wildcard bench/bench_*.c)
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
FUZZ_SRCS := $(wildcard fuzz/fuzz_*.c)
FUZZERS := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
HDRS := $(wildcard include/*.h userspace/*.h userspace/*/*.h userspace/*/*/*.h bpf/*.h fuzz/*.h)

.DELETE_ON_ERROR:
.PHONY: all bpf userspace tools tests deps check test test-unit test-integration test-san \
	bench demo fuzz clean install

all: bpf userspace tools

bpf: $(BPF_OBJS) $(BPF_SKELS)
userspace: $(BUILD)/mcprobe
tools: $(TOOLS)
tests: $(TESTS) $(TESTTOOLS)

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(HDRS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  BPF     $@")
	$(Q)$(CLANG) -target bpf -O2 -g -Wall -Werror -D__bpf__ -Iinclude -Ibpf \
		-I/usr/include/$(shell uname -m)-linux-gnu -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	@$(if $(Q),echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

$(BUILD)/obj/%.o: userspace/%.c $(HDRS) $(BPF_SKELS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/mcprobe: userspace/main.c $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDFLAGS) $(PKG_LIBS) -o $@

$(BUILD)/mcp-%: tools/mcp-%.c $(LIB) $(BPF_SKELS)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDFLAGS) $(PKG_LIBS) -o $@

$(BUILD)/tests/test_%: tests/test_%.c $(LIB) $(HDRS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests $< $(LIB) $(LDFLAGS) $(PKG_LIBS) -lcriterion -o $@

$(BUILD)/tests/tool_%: tests/tool_%.c $(LIB) $(HDRS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TOOL    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests $< $(LIB) $(LDFLAGS) $(PKG_LIBS) -o $@

# Micro-benchmarks (control plane, XDP cost, Redis writer): plain programs on libmcp.
$(BUILD)/bench/bench_%: bench/bench_%.c $(LIB) $(HDRS) $(BPF_OBJS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Ibench -Itests $< $(LIB) $(LDFLAGS) $(PKG_LIBS) -o $@

# libFuzzer targets: clang, ASan+UBSan, linked against the library sources directly.
$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c $(LIB_SRCS) $(HDRS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CLANG) -std=gnu11 -O1 -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
		-Iinclude -Iuserspace -Ifuzz -I$(BUILD)/bpf $(PKG_CFLAGS) $< $(LIB_SRCS) $(PKG_LIBS) -o $@

deps:
	$(Q)bash .ci/deps.sh

# Unit tests (Criterion) and integration tests (real pcaps, tshark, redis, XDP on veth).
test: all tests
	$(Q)BUILD=$(BUILD) bash tests/run_all.sh

# Both builds use every core: on CI's 2-core machine a serial build of each costs minutes.
check: deps
	$(Q)$(MAKE) --no-print-directory -j$(NPROC) WERROR=1 all tests
	$(Q)$(MAKE) --no-print-directory -j$(NPROC) WERROR=1 BUILD=build-san SAN=1 OPT=-O1 all tests
	$(Q)BUILD=$(BUILD) SAN_BUILD=build-san bash tests/run_all.sh

bench: deps all $(BENCHES)
	$(Q)BUILD=$(BUILD) bash bench/run.sh

demo: deps all
	$(Q)BUILD=$(BUILD) bash tools/demo.sh

FUZZ_SECONDS ?= 60
fuzz: $(FUZZERS)
	$(Q)for f in $(FUZZERS); do \
		mkdir -p $(BUILD)/fuzz/corpus-$$(basename $$f); \
		echo "== $$f ($(FUZZ_SECONDS)s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			$(BUILD)/fuzz/corpus-$$(basename $$f) fuzz/seeds/$$(basename $$f | sed 's/fuzz_//') \
			2>&1 | grep -E 'stat::number_of_executed_units|stat::peak_rss|ERROR|Done' || exit 1; \
	done

install: all
	install -D -m 0755 $(BUILD)/mcprobe $(DESTDIR)/usr/local/bin/mcprobe
	for t in $(TOOLS); do install -D -m 0755 $$t $(DESTDIR)/usr/local/bin/$$(basename $$t); done

clean:
	rm -rf build build-san build-*

# vxmesh: one Makefile.  `make V=1` shows full command lines.
#   make deps       install build and test dependencies (Debian 12, apt-get)
#   make            build build/vxmesh
#   make test       deps + everything: unit (plain and ASan/UBSan), kernel, integration
#   make coverage   line coverage by the unit tests alone (gcc --coverage in build/cov)
#   make demo       deps + build + the local namespace demo (make demo-clean undoes it)
#   make install    binary, man page, systemd unit under $(DESTDIR)$(PREFIX)

.DEFAULT_GOAL := all
PREFIX  ?= /usr/local
CC      ?= cc
PKGS    := libmnl jansson libmicrohttpd sqlite3 libcurl libsodium libcrypto msgpack zlib libnftables
O       ?= build

DEB_PKGS := build-essential pkg-config libmnl-dev libnftables-dev libssl-dev libjansson-dev libsodium-dev libmsgpack-dev zlib1g-dev \
	libmicrohttpd-dev libsqlite3-dev libcurl4-openssl-dev libcriterion-dev \
	iproute2 iputils-ping nftables procps psmisc clang libclang-rt-14-dev jq curl serf tcpdump clang-format \
	docker.io busybox-static iptables python3 util-linux

WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	   -Wno-unused-parameter
CSTD    := -std=c11 -D_GNU_SOURCE
ifneq ($(CI),)
WARN    += -Werror
endif
WERROR  ?=
CFLAGS  ?= -O2 -g
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libcurl: headers only; the CLI dlopen()s it so the agent never maps it.
PKG_LIBS   := $(shell pkg-config --libs $(filter-out libcurl,$(PKGS)) 2>/dev/null)
ALL_CFLAGS  = $(CSTD) $(WARN) $(WERROR) $(CFLAGS) -Iinclude/uapi -I. $(PKG_CFLAGS) -MMD -MP
LDLIBS      = $(PKG_LIBS) -lm

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1.0)

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRCS := $(wildcard common/*.c ipam/*.c vxlan/*.c gossip/*.c driver/*.c cli/*.c)
LIB_SRCS := $(filter-out driver/main.c,$(LIB_SRCS))
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o) $(O)/version.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%)
KTEST_SRCS := $(wildcard tests/kernel/*.c)
KTEST_BINS := $(KTEST_SRCS:tests/kernel/%.c=$(O)/tests/kernel-%)
SIM_SRCS := $(wildcard tests/sim/*.c)
SIM_BINS := $(SIM_SRCS:tests/sim/%.c=$(O)/tests/sim-%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
# Library sources a fuzz target may need: the pure decoders only.
FUZZ_LIB := $(wildcard vxlan/enc.c vxlan/enc_seg.c gossip/wire.c gossip/wbuf.c gossip/lzw.c gossip/crypt.c gossip/stream.c gossip/table.c \
	common/addr.c common/mpread.c)
# fuzz_values: the codecs under test are built instrumented; what else they
# call (the name rule in state.c, the ring-id rule in alloc.c, the version
# string) comes from the library archive, whose members those pull in.
FUZZ_VALUES_SRCS := driver/values.c driver/keyring.c
build/fuzz/fuzz_values: FUZZ_EXTRA = $(FUZZ_VALUES_SRCS) $(O)/libvxmesh.a
build/fuzz/fuzz_values: $(FUZZ_VALUES_SRCS) $(O)/libvxmesh.a
build/fuzz/fuzz_config: FUZZ_EXTRA = driver/config.c $(O)/libvxmesh.a
build/fuzz/fuzz_config: driver/config.c $(O)/libvxmesh.a
# The targets that drive the allocator and the core: what they feed is built
# instrumented, the rest comes from the archive.
FUZZ_IPAM_SRCS := driver/alloc.c ipam/broker.c ipam/ring.c ipam/pool.c
build/fuzz/fuzz_ipam: FUZZ_EXTRA = $(FUZZ_IPAM_SRCS) $(O)/libvxmesh.a
build/fuzz/fuzz_ipam: $(FUZZ_IPAM_SRCS) $(O)/libvxmesh.a tests/unit/core_fixture.h
FUZZ_CORE_SRCS := driver/core.c driver/alloc.c driver/api.c
FUZZ_API_SRCS := $(FUZZ_CORE_SRCS) driver/routes.c driver/cluster_api.c
build/fuzz/fuzz_api: FUZZ_EXTRA = $(FUZZ_API_SRCS) $(O)/libvxmesh.a
build/fuzz/fuzz_api: $(FUZZ_API_SRCS) $(O)/libvxmesh.a tests/unit/core_fixture.h
FUZZ_DOCKER_SRCS := $(FUZZ_CORE_SRCS) driver/docker.c driver/docker_plugin.c driver/docker_rec.c
build/fuzz/fuzz_plugin build/fuzz/fuzz_engine: FUZZ_EXTRA = $(FUZZ_DOCKER_SRCS) $(O)/libvxmesh.a
build/fuzz/fuzz_plugin build/fuzz/fuzz_engine: $(FUZZ_DOCKER_SRCS) $(O)/libvxmesh.a \
	tests/unit/core_fixture.h tests/fuzz/docker_world.h
# fuzz_netlink includes vxlan/nl.c itself (its parsers are static).
build/fuzz/fuzz_netlink: FUZZ_EXTRA = $(O)/libvxmesh.a
build/fuzz/fuzz_netlink: vxlan/nl.c $(O)/libvxmesh.a

.PHONY: FORCE all deps test unit unit-bins kernel-bins sim-bins fuzz-bins demo demo-clean install clean \
	bench bench-fuzz format check-format coverage

all: $(O)/vxmesh

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Rewritten only when the version changes, so a commit rebuilds one file.
$(O)/version.c: FORCE
	@mkdir -p $(dir $@)
	@echo 'const char vxmesh_version[] = "$(VERSION)";' | cmp -s - $@ || \
		echo 'const char vxmesh_version[] = "$(VERSION)";' >$@

$(O)/version.o: $(O)/version.c
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-variable-declarations -include common/version.h -c -o $@ $<

FORCE:

$(O)/libvxmesh.a: $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(O)/vxmesh: $(O)/driver/main.o $(O)/libvxmesh.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/%: tests/unit/%.c $(O)/libvxmesh.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(O)/libvxmesh.a $(LDLIBS) -lcurl -lcriterion

$(O)/tests/kernel-%: tests/kernel/%.c $(O)/libvxmesh.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(O)/libvxmesh.a $(LDLIBS)

$(O)/tests/sim-%: tests/sim/%.c $(O)/libvxmesh.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SIM     $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(O)/libvxmesh.a $(LDLIBS)

# libFuzzer targets (clang), with ASan+UBSan.
build/fuzz/%: tests/fuzz/%.c tests/fuzz/harness.h $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(CSTD) -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude/uapi -I. \
		$(PKG_CFLAGS) -o $@ $< $(FUZZ_LIB) $(FUZZ_EXTRA) $(LDLIBS)

unit-bins: $(UNIT_BINS)
kernel-bins: $(KTEST_BINS)
sim-bins: $(SIM_BINS)
fuzz-bins: $(FUZZ_BINS)

# Install what building and testing need, once: a no-op when already present.
deps:
	@if ! dpkg -s $(DEB_PKGS) >/dev/null 2>&1; then \
		echo "  DEPS    apt-get install $(DEB_PKGS)"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PKGS); \
	fi

# The whole suite; tests/run.sh prints the closing "N passed, N failed" line.
test: deps
	$(Q)$(MAKE) --no-print-directory all unit-bins kernel-bins sim-bins fuzz-bins
	$(Q)$(MAKE) --no-print-directory O=build/asan CC=clang \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" unit-bins
	$(Q)tests/run.sh

unit: all unit-bins
	$(Q)for t in $(UNIT_BINS); do $$t || exit 1; done

# Not part of test: a gcc --coverage -O0 build of the library and unit tests
# in build/cov, every unit test run once, gcov's counts per file and folder.
COV_FLAGS := O=build/cov CC=gcc CFLAGS="-O0 -g --coverage" LDFLAGS="--coverage"

coverage:
	$(Q)$(MAKE) --no-print-directory $(COV_FLAGS) unit-bins build/cov/driver/main.o
	$(Q)tests/coverage.sh build/cov

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

demo-clean:
	$(Q)scripts/demo.sh clean

# The benchmarks, except the long fuzzing runs (make bench-fuzz: hours).
bench: deps all
	$(Q)for b in bench/*.sh; do [ -x $$b ] && [ $$b != bench/fuzz.sh ] && $$b; done; true

bench-fuzz: deps
	$(Q)bench/fuzz.sh

install: all
	install -D -m 0755 $(O)/vxmesh $(DESTDIR)$(PREFIX)/sbin/vxmesh
	install -D -m 0644 docs/vxmesh.8 $(DESTDIR)$(PREFIX)/share/man/man8/vxmesh.8
	install -D -m 0644 scripts/vxmesh.service $(DESTDIR)/lib/systemd/system/vxmesh.service
	sed -i 's|@SBINDIR@|$(PREFIX)/sbin|' $(DESTDIR)/lib/systemd/system/vxmesh.service

format:
	clang-format -i $$(git ls-files '*.c' '*.h' | grep -v include/uapi)

check-format:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h' | grep -v include/uapi)

clean:
	rm -rf build

-include $(shell find $(O) -name '*.d' 2>/dev/null)

# brflow — top-level build.  `make` builds src/brflowd and ctl/brflowctl,
# `make check` runs unit tests and the netns suite (as root), `make asan`
# runs the unit tests and the suite under ASan+UBSan.
CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
CFLAGS  ?= -O2 -g
# Always on, also when CFLAGS comes from the command line (make asan).
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE
PKGS     = libnftnl libmnl libnetfilter_conntrack
DAEMON_LIBS = $(shell pkg-config --libs $(PKGS) libsystemd 2>/dev/null || echo -lnftnl -lmnl -lnetfilter_conntrack -lnfnetlink -lsystemd)
DAEMON_CFLAGS = $(shell pkg-config --cflags $(PKGS) libsystemd 2>/dev/null)

RULES_SRC  = $(sort $(wildcard rules/*.c))
RULES_OBJ  = $(RULES_SRC:.c=.o)
DAEMON_SRC = $(sort $(wildcard src/*.c))
DAEMON_OBJ = $(DAEMON_SRC:.c=.o)
CTL_SRC    = $(sort $(wildcard ctl/*.c))
CTL_OBJ    = $(CTL_SRC:.c=.o) src/ctlproto.o
UNIT_SRC   = $(sort $(wildcard tests/unit/*.c))
UNIT_BIN   = $(UNIT_SRC:.c=)
# queue/brflow-dpi, the NFQUEUE + nDPI handler; queue/test_*.c are its own
# test programs (built by `make unit`).
NDPI_CFLAGS = $(shell pkg-config --cflags libndpi 2>/dev/null || echo -I/usr/include/ndpi)
NDPI_LIBS   = $(shell pkg-config --libs libndpi 2>/dev/null || echo -lndpi)
DPI_LIBS    = -lnetfilter_queue -lnfnetlink -lmnl $(NDPI_LIBS) -lnetfilter_conntrack -lsystemd
QUEUE_TEST_SRC = $(sort $(wildcard queue/test_*.c))
QUEUE_TEST_BIN = $(QUEUE_TEST_SRC:.c=)
QUEUE_SRC  = $(filter-out $(QUEUE_TEST_SRC),$(sort $(wildcard queue/*.c)))
QUEUE_OBJ  = $(QUEUE_SRC:.c=.o)
# Fuzz harnesses, tests/fuzz/fuzz_NAME.c: `make unit` links each with
# tests/fuzz/replay.c into tests/fuzz/fuzz_NAME_replay, which `make check`
# runs over tests/fuzz/corpus/NAME/; `make fuzz` runs them under libFuzzer.
FUZZ_SRC   = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY_BIN = $(FUZZ_SRC:.c=_replay)
# what a harness may call, as archives (a harness may stand in for one of
# the handler's modules): the handler but its main(), the flow language and
# compiler, the control protocol and the logger
FUZZ_LINK  = tests/fuzz/libbrflow.a rules/librules.a

all: src/brflowd ctl/brflowctl queue/brflow-dpi

rules/librules.a: $(RULES_OBJ)
	$(AR) rcs $@ $^

tests/fuzz/libbrflow.a: $(filter-out queue/dpi_main.o,$(QUEUE_OBJ)) src/ctlproto.o src/log.o
	$(AR) rcs $@ $^

src/%.o: src/%.c
	$(CC) $(CFLAGS) $(DAEMON_CFLAGS) -c -o $@ $<

queue/%.o: queue/%.c
	$(CC) $(CFLAGS) $(NDPI_CFLAGS) -c -o $@ $<

%.o: %.c
	$(CC) $(CFLAGS) -c -o $@ $<

src/brflowd: $(DAEMON_OBJ) rules/librules.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(DAEMON_OBJ) rules/librules.a $(DAEMON_LIBS) -lpthread

ctl/brflowctl: $(CTL_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CTL_OBJ)

queue/brflow-dpi: $(QUEUE_OBJ) rules/librules.a src/ctlproto.o src/log.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(QUEUE_OBJ) src/ctlproto.o src/log.o rules/librules.a $(DPI_LIBS)

# Test programs link the handler's objects except its main().
queue/test_%: queue/test_%.c $(filter-out queue/dpi_main.o,$(QUEUE_OBJ)) rules/librules.a src/ctlproto.o
	$(CC) $(CFLAGS) $(NDPI_CFLAGS) $(LDFLAGS) -o $@ $^ $(DPI_LIBS)

tests/unit/%: tests/unit/%.c rules/librules.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< rules/librules.a

tests/fuzz/%_replay: tests/fuzz/%.c tests/fuzz/replay.c $(FUZZ_LINK)
	$(CC) $(CFLAGS) $(NDPI_CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(FUZZ_LINK) $(DPI_LIBS)

$(RULES_OBJ) $(DAEMON_OBJ) $(CTL_OBJ): $(wildcard rules/*.h src/*.h ctl/*.h)
$(QUEUE_OBJ): $(wildcard queue/*.h rules/*.h src/*.h)

unit: $(UNIT_BIN) $(QUEUE_TEST_BIN) $(FUZZ_REPLAY_BIN)

check: all unit
	bash tests/run.sh

# The netns suite inside Debian's stock kernel under QEMU (tests/vm/run.sh); built here,
# nothing is compiled in the guest.  Only the netns scripts ('^[0-9]'): the unit
# tests and corpus replays do not touch the kernel and `make check` runs them.
# The emulated CPU is many times slower: updates ran at 0.9-1.7 a second there
# while the streams load it, so 40-update-lossless applies 200 of them (the
# native suite applies 1 000) within a ceiling of 900 s, and a script may take
# 1 100 s; the test ends when its updates are done.
# The scripts that test only the daemon and the client (rejected input, socket
# errors, flow selection, port counters, MAC table, diff-flows, dump-flows
# --sort, trace, flow timeouts) skip there: the kernel adds nothing to them and
# the emulated lane runs near CI's ceiling; make check runs them.  (19-timeouts'
# counters and element deletes are 14's and 42's; its clock checks want a
# native CPU.)  06-ct-tuple, 22-conjunction, 23-meters and 24-mod-port skip
# there for the lane's time budget alone: together they take about 280 s
# under TCG (they passed there by hand, 2026-11-23: tests/vm/run.sh bash
# tests/run.sh '^(06-ct-tuple|22-conjunction|23-meters|24-mod-port)$'), which
# would leave a slow CI host too little of its 4 300 s; their bridge-family
# rulesets are in compile goldens (bridge_ct_ct_tuple, bridge_ct_mod_port*,
# conj_bridge_ct, meter_bridge_ct).
VM_SKIP = ^(06-ct-tuple|07-rejected|09-errors|14-ofctl-select|15-dump-ports|15-fdb|16-diff-flows|16-flow-mods|17-dump-sort|18-trace|19-timeouts|22-conjunction|23-meters|24-mod-port)$$
check-vm: all unit
	BF_UPDATES=$${BF_UPDATES:-200} BF_UPDATE_SECS=$${BF_UPDATE_SECS:-900} \
	BF_TEST_TIMEOUT=$${BF_TEST_TIMEOUT:-1100} BF_SKIP='$(VM_SKIP)' \
	BF_SKIP_WHY='daemon and client only, or left out for the time budget (Makefile VM_SKIP); make check runs it natively' \
		tests/vm/run.sh bash tests/run.sh '^[0-9]'

# Benchmarks (tests/bench/*.sh, as root): each prints its own table.
# tests/bench/connrate is perf.sh's new-connections-per-second tool.
tests/bench/connrate: tests/bench/connrate.c
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

bench: all tests/bench/connrate
	@rc=0; for b in tests/bench/*.sh; do echo "# $$b"; bash "$$b" || rc=1; done; exit $$rc

# perf.sh alone with short measurements (under 10 minutes).
bench-quick: all tests/bench/connrate
	bash tests/bench/perf.sh --quick

# Each harness under libFuzzer (clang, ASan+UBSan) for FUZZ_SECONDS, starting
# from a scratch copy of its corpus; what it finds lands in FUZZ_DIR/NAME.
# brflow's code goes into an archive first, as for the replay programs.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     ?= /tmp/brflow-fuzz
FUZZ_SAN      = address,undefined -fno-sanitize-recover=all
FUZZ_FLAGS    = -g -O1 -std=gnu11 -D_GNU_SOURCE $(NDPI_CFLAGS)
FUZZ_CODE     = $(filter-out queue/dpi_main.c,$(QUEUE_SRC)) src/ctlproto.c src/log.c $(RULES_SRC)

fuzz:
	@set -e; rm -rf $(FUZZ_DIR)/obj; mkdir -p $(FUZZ_DIR)/obj; \
	for f in $(FUZZ_CODE); do \
		$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c \
			-o $(FUZZ_DIR)/obj/$$(echo $$f | tr / _).o $$f; done; \
	rm -f $(FUZZ_DIR)/libbrflow.a; $(AR) rcs $(FUZZ_DIR)/libbrflow.a $(FUZZ_DIR)/obj/*.o; \
	for h in $(FUZZ_SRC); do n=$$(basename $$h .c); n=$${n#fuzz_}; \
		mkdir -p $(FUZZ_DIR)/$$n/corpus; cp tests/fuzz/corpus/$$n/* $(FUZZ_DIR)/$$n/corpus/; \
		$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) -o $(FUZZ_DIR)/$$n/fuzz_$$n $$h \
			$(FUZZ_DIR)/libbrflow.a $(DPI_LIBS); \
		echo "# fuzz $$n: $(FUZZ_SECONDS) s; findings in $(FUZZ_DIR)/$$n"; \
		$(FUZZ_DIR)/$$n/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -rss_limit_mb=2048 \
			-timeout=10 -artifact_prefix=$(FUZZ_DIR)/$$n/ $(FUZZ_DIR)/$$n/corpus; done

asan:
	$(MAKE) clean
	$(MAKE) CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" check
	$(MAKE) clean

install: all
	install -D -m 0755 src/brflowd $(DESTDIR)$(PREFIX)/sbin/brflowd
	install -D -m 0755 ctl/brflowctl $(DESTDIR)$(PREFIX)/bin/brflowctl
	install -D -m 0755 queue/brflow-dpi $(DESTDIR)$(PREFIX)/sbin/brflow-dpi
	install -D -m 0644 man/brflow-dpi.8 $(DESTDIR)$(PREFIX)/share/man/man8/brflow-dpi.8
	install -D -m 0644 systemd/brflow-dpi@.service $(DESTDIR)$(PREFIX)/lib/systemd/system/brflow-dpi@.service
	install -D -m 0644 man/brflowd.8 $(DESTDIR)$(PREFIX)/share/man/man8/brflowd.8
	install -D -m 0644 man/brflowctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/brflowctl.8
	install -D -m 0644 man/brflow-flows.7 $(DESTDIR)$(PREFIX)/share/man/man7/brflow-flows.7
	install -D -m 0644 systemd/brflowd.service $(DESTDIR)$(PREFIX)/lib/systemd/system/brflowd.service
	install -D -m 0644 systemd/brflow.conf $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/brflow.conf
	install -D -m 0644 systemd/brflow-modules.conf $(DESTDIR)$(PREFIX)/lib/modules-load.d/brflow.conf

clean:
	rm -f rules/*.o rules/librules.a src/*.o src/brflowd ctl/*.o ctl/brflowctl $(UNIT_BIN) \
		queue/*.o queue/brflow-dpi $(QUEUE_TEST_BIN) tests/fuzz/libbrflow.a \
		$(FUZZ_REPLAY_BIN)

.PHONY: all unit check check-vm bench bench-quick fuzz asan install clean

# SPDX-License-Identifier: GPL-2.0
SHELL := /bin/bash
# tophash: `make` builds, `make demo` shows it, `make check` tests it.
# Everything runs in QEMU on a Debian 6.1 kernel: the pin in
# scripts/kernel.env while the archive has it, else the newest it has
# (scripts/resolve-kernel.sh); the choice is recorded in build/kernel.env.

BUILD    ?= $(CURDIR)/build
CACHE    ?= $(BUILD)/cache
# The kernel chosen, and the stamp of the build group's packages: every
# target that builds depends on it (make remakes it first when it is
# missing or a script it comes from changed). clean needs no packages.
KENV     := $(BUILD)/kernel.env
DEPS     := $(KENV)
ifneq ($(filter-out clean distclean,$(or $(MAKECMDGOALS),all)),)
-include $(KENV)
endif
KDIR     ?= /usr/src/linux-headers-$(KABI)-amd64
VMLINUZ  := $(CACHE)/vmlinuz-$(KABI)-amd64
KSRC     := $(CACHE)/ksrc-$(KPKGVER)
INITRD   := $(BUILD)/vm/initrd.gz
# what scripts that build against the chosen kernel are told
KVERS    := KABI=$(KABI) KPKGVER=$(KPKGVER)
VMTIMEOUT ?= 1200

CC       ?= gcc
UCFLAGS  := -O2 -g -Wall -Wextra -Werror -std=gnu11 -Ikmod/include/uapi
ULDFLAGS := -static

KMOD_SRC := $(filter-out %.mod.c,$(wildcard kmod/*.c kmod/*.h kmod/include/uapi/*.h kmod/include/linux/*.h)) kmod/Kbuild Kbuild
THCTL    := userspace/thctl/thctl
TESTS    := selftests/tophash/tophash_test selftests/tophash/lifecycle_test selftests/tophash/semantics_test \
	    selftests/tophash/stress_test selftests/tophash/slotreuse_test \
	    selftests/tophash/trace_test selftests/tophash/contract_test \
	    selftests/tophash/faultinject_test selftests/tophash/memcg_test selftests/tophash/fuzz_test \
	    selftests/tophash/shrink_test

# slotreuse: BPF object -> skeleton (build/bpf, generated) -> libbpf loader,
# linked dynamically (mkinitramfs.sh copies the libraries ldd names).
SLOTREUSE := userspace/slotreuse
BPFOUT    := $(BUILD)/bpf
BPFCFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -Ikmod/include/uapi \
	-I/usr/include/x86_64-linux-gnu

.PHONY: all deps module userspace selftests initramfs check checkpatch sparse setup-check debug-kernels-bg \
	vm-check vm-check-debian demo shell clean distclean

all: module userspace selftests $(SLOTREUSE)

$(KENV): scripts/deps.sh scripts/packages.sh scripts/lib-apt.sh scripts/resolve-kernel.sh \
		scripts/fetch-kernel.sh scripts/kernel.env
	bash scripts/deps.sh -b $(BUILD) build

# Every package of every target (scripts/packages.sh), up front.
deps:
	bash scripts/deps.sh -b $(BUILD) all

module: kmod/tophash.ko
kmod/tophash.ko: $(KMOD_SRC) | $(DEPS)
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# libtophash (userspace/lib/): the ioctl wrappers, the layout decoder and the
# slot-state characters that thctl and the kselftests share.
LIBTH     := $(BUILD)/lib/libtophash.a
LIBTH_SRC := userspace/lib/libtophash.c userspace/lib/libtophash.h kmod/include/uapi/tophash.h
$(LIBTH): $(LIBTH_SRC) | $(DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(UCFLAGS) -c -o $(BUILD)/lib/libtophash.o $<
	rm -f $@ && ar rcs $@ $(BUILD)/lib/libtophash.o

userspace: $(THCTL)
THCTL_SRC := $(wildcard userspace/thctl/*.c)
$(THCTL): $(THCTL_SRC) userspace/thctl/thctl.h $(LIBTH) | $(DEPS)
	$(CC) $(UCFLAGS) -Iuserspace/lib -o $@ $(THCTL_SRC) $(LIBTH) $(ULDFLAGS)

# slotreuse: the BPF object, its skeleton (generated), the loader.
$(BPFOUT)/slotreuse.bpf.o: bpf/slotreuse.bpf.c bpf/slotreuse.h kmod/include/uapi/tophash.h | $(DEPS)
	@mkdir -p $(dir $@)
	clang $(BPFCFLAGS) -c $< -o $@

$(BPFOUT)/slotreuse.skel.h: $(BPFOUT)/slotreuse.bpf.o
	bpftool gen skeleton $< name slotreuse_bpf > $@.tmp
	mv $@.tmp $@

$(SLOTREUSE): userspace/slotreuse.c bpf/slotreuse.h kmod/include/uapi/tophash.h $(BPFOUT)/slotreuse.skel.h | $(DEPS)
	$(CC) $(UCFLAGS) -Ibpf -I$(BPFOUT) -o $@ $< -lbpf -lelf -lz

selftests: $(TESTS)
selftests/tophash/%: selftests/tophash/%.c selftests/tophash/tophash_util.h \
		kmod/include/uapi/tophash.h $(LIBTH) | $(DEPS)
	$(CC) $(UCFLAGS) -Wno-unused-parameter -Wno-sign-compare -I$(KSRC)/tools/testing/selftests \
		-Iuserspace/lib -o $@ $< $(LIBTH) $(ULDFLAGS) -lpthread

# What every guest initramfs holds; $(1) is the directory of the modules.
# The scripts that run inside the guest are all in guest/: init.sh (the
# guest's /init), run-kselftests.sh, demo.sh, bench.sh.
GUEST_SCRIPTS = guest/init.sh guest/run-kselftests.sh guest/demo.sh guest/bench.sh
GUEST_FILES = $(THCTL) $(SLOTREUSE) $(TESTS) $(GUEST_SCRIPTS) scripts/mkinitramfs.sh
guest_files = $(1)/tophash.ko:/opt/tophash/tophash.ko \
	$(1)/tophash_selftest.ko:/opt/tophash/tophash_selftest.ko \
	$(1)/tophash_bench.ko:/opt/tophash/tophash_bench.ko \
	$(THCTL):/opt/tophash/thctl \
	$(SLOTREUSE):/opt/tophash/slotreuse \
	$(foreach t,$(TESTS),$(t):/opt/tophash/$(notdir $(t))) \
	$(foreach s,run-kselftests.sh demo.sh bench.sh,guest/$(s):/opt/tophash/$(s))

# A copy of the module's sources in $(1), to build them another way (against
# a debug kernel, or with the tracepoints compiled out).
copy_kmod_src = rm -rf $(1) && mkdir -p $(1) && \
	tar -c --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' --exclude='*.mod*' \
		Kbuild kmod | tar -x -C $(1)

$(INITRD): kmod/tophash.ko $(GUEST_FILES)
	@mkdir -p $(dir $@)
	bash scripts/mkinitramfs.sh $@ $(call guest_files,kmod)

initramfs: $(INITRD)

VMRUN = bash scripts/vm-run.sh -i $(INITRD) -k $(VMLINUZ)

checkpatch: | $(DEPS)
	perl $(KSRC)/scripts/checkpatch.pl --no-tree --quiet \
		--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES \
		-f $(filter %.c %.h,$(KMOD_SRC))
	@echo "checkpatch: clean"

# sparse on kmod/: __rcu, __user and endianness annotations; any warning fails.
sparse: | $(DEPS)
	@command -v sparse >/dev/null || { echo "sparse: not installed (bash scripts/deps.sh check)" >&2; exit 1; }
	touch kmod/*.c
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 CHECK=sparse modules 2>&1 | tee $(BUILD)/sparse.log
	@! grep -E "warning|error" $(BUILD)/sparse.log
	@echo "sparse: clean"

# The kselftests in a VM: $(1) run name, $(2) kernel, $(3) initramfs. The
# TAP goes to build/check/$(1)/tap.log, the VM's status to vm.rc.
define run_kselftests
	rm -rf $(BUILD)/check/$(1) && mkdir -p $(BUILD)/check/$(1)
	bash scripts/vm-run.sh -i $(3) -k $(2) -t $(VMTIMEOUT) \
		-l $(BUILD)/check/$(1)/serial.log -- sh /opt/tophash/run-kselftests.sh \
		| tee $(BUILD)/check/$(1)/tap.log; \
	echo $${PIPESTATUS[0]} > $(BUILD)/check/$(1)/vm.rc
endef

# On Debian's kernel.
vm-check-debian: $(INITRD)
	$(call run_kselftests,debian,$(VMLINUZ),$(INITRD))

# On a debug kernel built from linux-source-6.1 (scripts/build-debug-kernel.sh,
# cached outside the tree): KCSAN+lockdep+PROVE_RCU, or KASAN. The module is
# rebuilt against that kernel from a copy of the sources.
DEBUG_KERNELS ?= kcsan kasan
vm-check-kcsan vm-check-kasan: vm-check-%: $(GUEST_FILES) | $(DEPS)
	set -e; kdir=$$($(KVERS) bash scripts/build-debug-kernel.sh $*); \
	src=$(BUILD)/dbg-$*/src; $(call copy_kmod_src,$$src); \
	$(MAKE) -C $$kdir/tree M=$$src modules > $(BUILD)/dbg-$*/build.log 2>&1 || \
		{ tail -n 30 $(BUILD)/dbg-$*/build.log; exit 1; }; \
	bash scripts/mkinitramfs.sh $(BUILD)/dbg-$*/initrd.gz $(call guest_files,$$src/kmod); \
	echo $$kdir/bzImage > $(BUILD)/dbg-$*/kernel
	$(call run_kselftests,$*,$$(cat $(BUILD)/dbg-$*/kernel),$(BUILD)/dbg-$*/initrd.gz)

# All kernels, then one summary line over all of them.
VM_RUNS := debian $(DEBUG_KERNELS)
vm-check: $(addprefix vm-check-,$(VM_RUNS))
	bash scripts/tap-summary.sh $(addprefix $(BUILD)/check/,$(VM_RUNS))

# Host-side tests of the map core in userspace: core-check, fuzz, check-ordering.
include selftests/core/core.mk

# The single-key lookup prefetches its bucket in the module and in the
# native build (selftests/core/check-prefetch.sh objdumps both).
.PHONY: check-prefetch
check-prefetch: kmod/tophash.ko
	bash selftests/core/check-prefetch.sh $(CURDIR)/kmod/tophash.ko $(BUILD)/prefetch

# Start building the debug kernels that are not cached yet, one after the
# other, in the background: they get made while the host-side tests and the
# run on Debian's kernel go on, and vm-check-kcsan and vm-check-kasan wait
# for them (scripts/build-debug-kernel.sh locks). No nice: once the
# foreground waits for them, a lowered priority would only lose CPU to
# whatever else the machine runs.
debug-kernels-bg: | $(DEPS)
	@mkdir -p $(BUILD)
	@echo "check: the debug kernels ($(DEBUG_KERNELS)) build in the background if not cached (log: $(BUILD)/debug-kernels.log)"
	@( for k in $(DEBUG_KERNELS); do \
		$(KVERS) bash scripts/build-debug-kernel.sh $$k || exit 1; \
	done ) > $(BUILD)/debug-kernels.log 2>&1 &

# The offline tests of the set-up scripts (kernel choice, apt errors).
setup-check: | $(DEPS)
	bash selftests/setup/run.sh $(BUILD)/setup

check: | $(DEPS)
	@bash scripts/kernel-version.sh $(KENV)
	bash scripts/deps.sh -b $(BUILD) check debug-kernel
	$(MAKE) debug-kernels-bg
	$(MAKE) setup-check
	$(MAKE) checkpatch
	$(MAKE) sparse
	$(MAKE) all
	$(MAKE) core-check
	$(MAKE) check-prefetch
	$(MAKE) $(addprefix vm-check-,$(VM_RUNS))
	@bash scripts/kernel-version.sh $(KENV)
	bash scripts/tap-summary.sh --counts setup $(BUILD)/setup/summary \
		--counts core $(BUILD)/core/summary \
		--counts prefetch $(BUILD)/prefetch/summary \
		$(addprefix $(BUILD)/check/,$(VM_RUNS))

demo: $(INITRD)
	@bash scripts/kernel-version.sh $(KENV)
	$(VMRUN) -t 600 -l $(BUILD)/demo/serial.log -- sh /opt/tophash/demo.sh

# The in-guest ioctl fuzzer (selftests/tophash/fuzz_test.c), longer than
# make check runs it: make fuzz-guest FUZZ_GUEST_SECONDS=600 [FUZZ_GUEST_SEED=0x...]
FUZZ_GUEST_SECONDS ?= 600
FUZZ_GUEST_SEED ?=
.PHONY: fuzz-guest
fuzz-guest: $(INITRD)
	$(VMRUN) -t $$(( $(FUZZ_GUEST_SECONDS) * 2 + 300 )) -l $(BUILD)/fuzz-guest/serial.log -- \
		"insmod /opt/tophash/tophash.ko && TOPHASH_FUZZ_SECONDS=$(FUZZ_GUEST_SECONDS) \
		$(if $(FUZZ_GUEST_SEED),TOPHASH_FUZZ_SEED=$(FUZZ_GUEST_SEED)) /opt/tophash/fuzz_test"

# An interactive-ish run: make shell CMD='thctl shell < /dev/null'
shell: $(INITRD)
	$(VMRUN) -t 600 -l $(BUILD)/shell/serial.log -- "insmod /opt/tophash/tophash.ko; $(CMD)"

# make bench: tophash vs the kernel's rhashtable, and the cost of tophash's
# tracepoints, in the VM (guest/bench.sh, kmod/tophash_bench.c); then
# bench/mkresults.py turns the lines the guest prints into bench/RESULTS.md.
# It fails only when something breaks, never on the timings. slub_debug is
# off for it (it would slow rhashtable's per-object kmalloc/kfree far more
# than tophash's bucket arrays). BENCH_ENV: the guest script's settings.
.PHONY: bench
BENCH_OUT     := $(BUILD)/bench
BENCH_INITRD  := $(BENCH_OUT)/initrd.gz
BENCH_NOTRACE := $(BENCH_OUT)/notrace/kmod/tophash.ko
BENCH_MEM     ?= 3072
BENCH_TIMEOUT ?= 2400
BENCH_APPEND  := slub_debug=- log_buf_len=4M
BENCH_ENV     ?= BENCH_KEYSIZES='8 16 64' BENCH_ARGS_16='lookup_ops=500000 churn_ops=500000' \
	BENCH_ARGS_64='lookup_ops=500000 churn_ops=500000' \
	BENCH_TRACE_ROUNDS=5 BENCH_TRACE_NKEYS=200000 \
	BENCH_TRACE_ARGS='churn_keys=100000 churn_ops=400000'
BENCH_CMD      = $(BENCH_ENV) sh /opt/tophash/bench.sh

# tophash.ko with every tracepoint compiled out (-DNOTRACE, see
# include/linux/tracepoint.h): the baseline of the tracepoints-off cost.
# Its exports get other CRCs, so the guest loads the bench module built
# beside it with it.
$(BENCH_NOTRACE): $(KMOD_SRC) | $(DEPS)
	$(call copy_kmod_src,$(BENCH_OUT)/notrace)
	echo 'CFLAGS_tophash_core.o += -DNOTRACE' >> $(BENCH_OUT)/notrace/kmod/Kbuild
	$(MAKE) -C $(KDIR) M=$(BENCH_OUT)/notrace modules > $(BENCH_OUT)/notrace.log 2>&1 || \
		{ tail -n 30 $(BENCH_OUT)/notrace.log; exit 1; }

$(BENCH_INITRD): kmod/tophash.ko $(GUEST_FILES) $(BENCH_NOTRACE)
	@mkdir -p $(dir $@)
	bash scripts/mkinitramfs.sh $@ $(call guest_files,kmod) \
		$(BENCH_NOTRACE):/opt/tophash/tophash_notrace.ko \
		$(dir $(BENCH_NOTRACE))tophash_bench.ko:/opt/tophash/tophash_bench_notrace.ko

# The guest counts tophash's hash calls, on SipHash maps, with kprobes on
# its call sites of the siphash functions (siphash_1u64,
# __siphash_unaligned, ...), found here in the module it runs by
# bench/hash-sites.py.
bench: $(BENCH_INITRD)
	@bash scripts/kernel-version.sh $(KENV)
	bash scripts/deps.sh -b $(BUILD) bench
	BENCH_OUT=$(BENCH_OUT) BENCH_INITRD=$(BENCH_INITRD) VMLINUZ=$(VMLINUZ) \
	BENCH_MEM=$(BENCH_MEM) BENCH_APPEND="$(BENCH_APPEND)" BENCH_TIMEOUT=$(BENCH_TIMEOUT) \
	BENCH_CMD="$(BENCH_CMD)" KENV=$(KENV) bash scripts/run-bench.sh
	$(MAKE) bench-native

# make bench-native: natively on the host, the map core built in userspace
# (selftests/core/shim, -DTH_SHIM_BENCH) vs Go 1.19's classic map vs abseil's
# flat_hash_map, interleaved runs on the same keys, then tophash with its
# tracepoints compiled in but off vs compiled out (-DNOTRACE), alternated and
# counted by callgrind (bench/native/run.sh; its packages are the bench
# group of scripts/packages.sh); writes the native section of
# bench/RESULTS.md and keeps the in-guest one. `make bench`
# ends with it. Settings: NATIVE_RUNS, NATIVE_TARGET, NATIVE_SIZES, ... (see
# bench/native/run.sh).
.PHONY: bench-native
bench-native:
	bash bench/native/run.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
	rm -f $(THCTL) $(SLOTREUSE) $(TESTS) $(INITRD)

distclean: clean
	rm -rf $(BUILD)

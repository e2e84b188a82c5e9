# SPDX-License-Identifier: GPL-2.0
SHELL := /bin/bash
# tophash: `make` builds, `make demo` shows it, `make check` tests it.
# Everything runs in QEMU on the pinned Debian kernel (scripts/kernel.env).

include scripts/kernel.env

BUILD    ?= $(CURDIR)/build
CACHE    ?= $(BUILD)/cache
KDIR     ?= /usr/src/linux-headers-$(KABI)-amd64
VMLINUZ  := $(CACHE)/vmlinuz-$(KABI)-amd64
KSRC     := $(CACHE)/ksrc
INITRD   := $(BUILD)/vm/initrd.gz
DEPS     := $(BUILD)/.deps-$(KABI)
VMTIMEOUT ?= 1200

CC       ?= gcc
UCFLAGS  := -O2 -g -Wall -Wextra -Werror -std=gnu11 -Ikmod/include/uapi
ULDFLAGS := -static

KMOD_SRC := $(filter-out %.mod.c,$(wildcard kmod/*.c kmod/*.h kmod/include/uapi/*.h)) kmod/Kbuild Kbuild
THCTL    := userspace/thctl
TESTS    := selftests/tophash/tophash_test selftests/tophash/lifecycle_test selftests/tophash/semantics_test \
	    selftests/tophash/stress_test

# slotreuse: BPF object -> skeleton (build/bpf, generated) -> libbpf loader,
# linked dynamically (mkinitramfs.sh copies the libraries ldd names).
SLOTREUSE := userspace/slotreuse
BPFOUT    := $(BUILD)/bpf
BPFCFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_x86 \
	-I/usr/include/x86_64-linux-gnu

.PHONY: all deps module userspace selftests initramfs check checkpatch sparse \
	vm-check demo shell clean distclean

all: module userspace selftests $(SLOTREUSE)

$(DEPS): scripts/deps.sh scripts/fetch-kernel.sh scripts/kernel.env
	bash scripts/deps.sh
	bash scripts/fetch-kernel.sh $(CACHE)
	@mkdir -p $(BUILD) && touch $@

deps: $(DEPS)

module: kmod/tophash.ko
kmod/tophash.ko: $(KMOD_SRC) | $(DEPS)
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace: $(THCTL)
$(THCTL): userspace/thctl.c kmod/include/uapi/tophash.h | $(DEPS)
	$(CC) $(UCFLAGS) -o $@ $< $(ULDFLAGS)

# slotreuse: the BPF object, its skeleton (generated), the loader.
$(BPFOUT)/slotreuse.bpf.o: bpf/slotreuse.bpf.c bpf/slotreuse.h | $(DEPS)
	@mkdir -p $(dir $@)
	clang $(BPFCFLAGS) -c $< -o $@

$(BPFOUT)/slotreuse.skel.h: $(BPFOUT)/slotreuse.bpf.o
	bpftool gen skeleton $< name slotreuse_bpf > $@.tmp
	mv $@.tmp $@

$(SLOTREUSE): userspace/slotreuse.c bpf/slotreuse.h $(BPFOUT)/slotreuse.skel.h | $(DEPS)
	$(CC) $(UCFLAGS) -Ibpf -I$(BPFOUT) -o $@ $< -lbpf -lelf -lz

selftests: $(TESTS)
selftests/tophash/%: selftests/tophash/%.c selftests/tophash/tophash_util.h \
		kmod/include/uapi/tophash.h | $(DEPS)
	$(CC) $(UCFLAGS) -Wno-unused-parameter -Wno-sign-compare -I$(KSRC)/tools/testing/selftests \
		-o $@ $< $(ULDFLAGS) -lpthread

$(INITRD): kmod/tophash.ko $(THCTL) $(SLOTREUSE) $(TESTS) selftests/tophash/run.sh \
		scripts/mkinitramfs.sh scripts/guest-init.sh
	@mkdir -p $(dir $@)
	bash scripts/mkinitramfs.sh $@ \
		kmod/tophash.ko:/opt/tophash/tophash.ko \
		kmod/tophash_selftest.ko:/opt/tophash/tophash_selftest.ko \
		$(THCTL):/opt/tophash/thctl \
		$(SLOTREUSE):/opt/tophash/slotreuse \
		$(foreach t,$(TESTS),$(t):/opt/tophash/$(notdir $(t))) \
		selftests/tophash/run.sh:/opt/tophash/run.sh \
		scripts/demo-guest.sh:/opt/tophash/demo.sh

initramfs: $(INITRD)

VMRUN = bash scripts/vm-run.sh -i $(INITRD) -k $(VMLINUZ)

checkpatch: | $(DEPS)
	perl $(KSRC)/scripts/checkpatch.pl --no-tree --quiet \
		--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES \
		-f $(filter %.c %.h,$(KMOD_SRC))
	@echo "checkpatch: clean"

# sparse on kmod/: __rcu, __user and endianness annotations; any warning fails.
sparse: | $(DEPS)
	touch kmod/*.c
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 CHECK=sparse modules 2>&1 | tee $(BUILD)/sparse.log
	@! grep -E "warning|error" $(BUILD)/sparse.log
	@echo "sparse: clean"

# The kselftests in the VM; the TAP they print becomes the summary line.
vm-check: $(INITRD)
	@mkdir -p $(BUILD)/check
	$(VMRUN) -t $(VMTIMEOUT) -l $(BUILD)/check/serial.log -- sh /opt/tophash/run.sh \
		| tee $(BUILD)/check/tap.log; \
	echo $${PIPESTATUS[0]} > $(BUILD)/check/vm.rc
	bash scripts/tap-summary.sh $(BUILD)/check/tap.log $$(cat $(BUILD)/check/vm.rc)

check: deps
	$(MAKE) checkpatch
	$(MAKE) sparse
	$(MAKE) all
	$(MAKE) vm-check

demo: $(INITRD)
	$(VMRUN) -t 600 -l $(BUILD)/demo/serial.log -- sh /opt/tophash/demo.sh

# An interactive-ish run: make shell CMD='thctl shell < /dev/null'
shell: $(INITRD)
	$(VMRUN) -t 600 -l $(BUILD)/shell/serial.log -- "insmod /opt/tophash/tophash.ko; $(CMD)"

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
	rm -f $(THCTL) $(TESTS) $(INITRD)

distclean: clean
	rm -rf $(BUILD)

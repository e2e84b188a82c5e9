# SPDX-License-Identifier: GPL-2.0
# The map core (kmod/tophash_core.c, unchanged) built in userspace against
# the shims in selftests/core/shim/, the tools/testing/radix-tree way:
#
#   make core-check       unit tests (plain, ASan+UBSan), the lockless stress
#                         (ThreadSanitizer, ASan+UBSan), a bounded fuzz run
#   make fuzz             the fuzzer for FUZZ_SECONDS (default 600)
#   make check-ordering   the stress with each TH_WEAKEN_* pair weakened:
#                         which test catches which (build/ordering.txt)
#
# Included by the top Makefile; uses its BUILD, KSRC and DEPS.

CORE_DIR     := selftests/core
CORE_OUT     := $(BUILD)/core
CORE_SHIM    := $(CORE_DIR)/shim/shim.c
CORE_HDRS    := kmod/tophash_core.c kmod/tophash_core.h kmod/tophash_trace.h \
		kmod/include/uapi/tophash.h kmod/include/linux/tophash.h $(CORE_DIR)/core_util.h \
		$(wildcard $(CORE_DIR)/shim/*.h $(CORE_DIR)/shim/*/*.h) $(CORE_SHIM)
# The kernel's own warning set has no -Wsign-compare (W=3 only); the core
# compares an int with ARRAY_SIZE(), so the core's TUs go without it too.
CORE_CFLAGS  := -g -std=gnu11 -Wall -Wextra -Werror -Wno-sign-compare \
		-I$(CORE_DIR)/shim -Ikmod/include
CORE_HARNESS := -Wno-unused-parameter -I$(KSRC)/tools/testing/selftests
CORE_LIBS    := -lurcu-memb -lpthread -lm
CORE_ASAN    := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=all
CORE_TSAN    := -O1 -fsanitize=thread
CORE_BINS    := $(addprefix $(CORE_OUT)/,core_unit core_unit-asan core_stress-tsan \
		core_stress-asan core_fuzz)
FUZZ_SECONDS ?= 600

.PHONY: core-build core-check fuzz check-ordering

$(CORE_OUT)/core_unit: $(CORE_DIR)/core_unit.c $(CORE_HDRS) | $(DEPS)
	@mkdir -p $(dir $@)
	gcc -O2 $(CORE_CFLAGS) $(CORE_HARNESS) -o $@ $< $(CORE_SHIM) $(CORE_LIBS)

$(CORE_OUT)/core_unit-asan: $(CORE_DIR)/core_unit.c $(CORE_HDRS) | $(DEPS)
	@mkdir -p $(dir $@)
	clang $(CORE_ASAN) $(CORE_CFLAGS) $(CORE_HARNESS) -o $@ $< $(CORE_SHIM) $(CORE_LIBS)

$(CORE_OUT)/core_stress-tsan: $(CORE_DIR)/core_stress.c $(CORE_HDRS) | $(DEPS)
	@mkdir -p $(dir $@)
	clang $(CORE_TSAN) $(CORE_CFLAGS) -o $@ $< $(CORE_SHIM) $(CORE_LIBS)

$(CORE_OUT)/core_stress-asan: $(CORE_DIR)/core_stress.c $(CORE_HDRS) | $(DEPS)
	@mkdir -p $(dir $@)
	clang $(CORE_ASAN) $(CORE_CFLAGS) -o $@ $< $(CORE_SHIM) $(CORE_LIBS)

$(CORE_OUT)/core_fuzz: $(CORE_DIR)/core_fuzz.c $(CORE_HDRS) | $(DEPS)
	@mkdir -p $(dir $@)
	clang -fsanitize=fuzzer $(CORE_ASAN) $(CORE_CFLAGS) -o $@ $< $(CORE_SHIM) $(CORE_LIBS)

core-build: $(CORE_BINS)

core-check: core-build
	bash $(CORE_DIR)/run.sh $(CORE_OUT)

fuzz: $(CORE_OUT)/core_fuzz
	@mkdir -p $(CORE_OUT)/fuzz-corpus
	$(CORE_OUT)/core_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=1024 \
		-artifact_prefix=$(CORE_OUT)/ $(CORE_OUT)/fuzz-corpus $(CORE_DIR)/corpus

check-ordering: | $(DEPS)
	KSRC=$(KSRC) bash $(CORE_DIR)/check-ordering.sh $(CORE_OUT)/ordering $(BUILD)/ordering.txt

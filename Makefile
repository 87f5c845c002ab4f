# mink8s build. `make` builds bin/; `make test` installs missing packages,
# builds, runs unit tests plain and under ASan+UBSan, then the bats suites.
#
# Layout conventions the rules below rely on:
#   lib/*.c                       -> build/libmk.a (shared by everything)
#   <component dir>/main.c        -> the binary's main(); the other .c files of
#                                    the directory are also linked into its unit tests
#   cni/skel/*.c                  -> shared by every CNI plugin
#   cni/<plugin>/main.c           -> bin/cni/<plugin>
#   tests/unit/<comp>/test_*.c    -> one cmocka program each, linked with <comp>'s
#                                    non-main objects and libmk.a

BUILD ?= build
BIN ?= bin
SAN ?=
CC ?= gcc
# V=1 shows the full compiler command lines.
V ?=
Q := $(if $(V),,@)

# A fresh machine: what is missing is installed before pkg-config is asked
# below; NODEPS=1 skips the check. It is made again only when dpkg's
# database or the list changed since it last passed (a stamp in BUILD): make
# run is timed, and the check costs a bash and a dpkg-query.
DEPS_STAMP := $(BUILD)/.deps-ok
ifeq ($(MAKELEVEL)$(NODEPS)$(filter clean format deps,$(MAKECMDGOALS)),0)
ifneq ($(shell { [ $(DEPS_STAMP) -nt /var/lib/dpkg/status ] && [ $(DEPS_STAMP) -nt tools/install-deps.sh ]; } || \
	{ tools/install-deps.sh >&2 && mkdir -p $(BUILD) && touch $(DEPS_STAMP); } && echo ok),ok)
$(error missing packages could not be installed (see above))
endif
endif

PKGS := jansson yaml-0.1 libcurl libmicrohttpd gnutls sqlite3 libmnl libnftnl libiptc libcrypto libarchive zlib libisal
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lip4tc -lpthread -lm -lresolv

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
ALL_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -Ilib -I. $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LDFLAGS ?=
ifeq ($(SAN),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -O1
LDFLAGS += -fsanitize=address,undefined
endif
# FUZZ=1 (set by `make fuzz`, with CC=clang): everything instrumented for
# libFuzzer. gcc's -Werror build is the gate: clang's own extra warnings are
# shown but do not stop the fuzz build.
FUZZ ?=
ifeq ($(FUZZ),1)
ALL_CFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -O1 -g -Wno-error
LDFLAGS += -fsanitize=address,undefined
endif

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIB_SRC := $(wildcard lib/*.c)
LIB_A := $(BUILD)/libmk.a

# component name -> source directory -> binary
COMPONENTS := apiserver controllers scheduler kubelet proxy monitor nodectl
DIR_apiserver := apiserver
DIR_controllers := apiserver/controllers
DIR_scheduler := apiserver/scheduler
DIR_kubelet := kubelet
DIR_proxy := proxy
DIR_monitor := kubelet/monitor
DIR_nodectl := kubelet/nodectl
BIN_apiserver := kube-apiserver
BIN_controllers := kube-controller-manager
BIN_scheduler := kube-scheduler
BIN_kubelet := kubelet
BIN_proxy := kube-proxy
BIN_monitor := mink8s-monitor
BIN_nodectl := nodectl
# sources of another component a binary also links (the monitor: cgroups, runtime errors)
EXTRA_monitor := kubelet/cgroups.c kubelet/runtime.c
EXTRA_nodectl := kubelet/cgroups.c kubelet/runtime.c kubelet/nodeview.c kubelet/kconfig.c

src_of = $(wildcard $(DIR_$(1))/*.c) $(EXTRA_$(1))
nonmain_of = $(filter-out $(DIR_$(1))/main.c,$(call src_of,$(1)))

CNI_SKEL_SRC := $(wildcard cni/skel/*.c)
CNI_PLUGINS := $(patsubst cni/%/main.c,%,$(wildcard cni/*/main.c))
CNI_NONMAIN := $(CNI_SKEL_SRC) $(filter-out %/main.c,$(foreach p,$(CNI_PLUGINS),$(wildcard cni/$(p)/*.c)))

BINARIES := $(foreach c,$(COMPONENTS),$(if $(wildcard $(DIR_$(c))/main.c),$(BIN)/$(BIN_$(c)))) \
	$(foreach p,$(CNI_PLUGINS),$(BIN)/cni/$(p)) \
	$(if $(wildcard tools/pause/main.c),$(BIN)/pause)

UNIT_COMPS := lib $(COMPONENTS) cni
UNIT_SRC := $(foreach c,$(UNIT_COMPS),$(wildcard tests/unit/$(c)/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all test unit unit-san bench run install clean deps format fuzz fuzz-build soak
all: $(BINARIES)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo '  CC      $<')
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB_A): $(call obj,$(LIB_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

define component_rules
$(BIN)/$(BIN_$(1)): $(call obj,$(call src_of,$(1))) $(LIB_A)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo '  LD      $$@')
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $(call obj,$(call src_of,$(1))) $(LIB_A) $$(PKG_LIBS)
$(BUILD)/tests/$(1)/%: tests/unit/$(1)/%.c $(call obj,$(call nonmain_of,$(1))) $(LIB_A)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo '  LD      $$@')
	$$(Q)$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS) -o $$@ $$< $(call obj,$(call nonmain_of,$(1))) $(LIB_A) $$(PKG_LIBS) -lcmocka
endef
$(foreach c,$(COMPONENTS),$(eval $(call component_rules,$(c))))

define cni_rules
$(BIN)/cni/$(1): $(call obj,$(wildcard cni/$(1)/*.c) $(CNI_SKEL_SRC)) $(LIB_A)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo '  LD      $$@')
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $(call obj,$(wildcard cni/$(1)/*.c) $(CNI_SKEL_SRC)) $(LIB_A) $$(PKG_LIBS)
endef
$(foreach p,$(CNI_PLUGINS),$(eval $(call cni_rules,$(p))))

$(BUILD)/tests/cni/%: tests/unit/cni/%.c $(call obj,$(CNI_NONMAIN)) $(LIB_A)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(call obj,$(CNI_NONMAIN)) $(LIB_A) $(PKG_LIBS) -lcmocka

$(BUILD)/tests/lib/%: tests/unit/lib/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_A) $(PKG_LIBS) -lcmocka

# The pause sandbox binary is static so it runs in an empty root filesystem.
$(BIN)/pause: tools/pause/main.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -static -o $@ $<

# Fuzzing: tests/fuzz/fuzz_<name>.c is one LLVMFuzzerTestOneInput, its seeds
# are tests/fuzz/corpus/<name>/. FUZZ_COMP_<name> names the component whose
# non-main objects it links besides libmk.a. `make fuzz` builds every harness
# with clang and libFuzzer into build/fuzz and runs each for FUZZ_SECONDS
# (FUZZ_TARGETS: a subset). The SAN=1 unit build also makes a replay program
# per harness (tests/fuzz/replay.c, plain gcc, no libFuzzer) that feeds it
# every corpus file: `make test` runs those like the unit tests.
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_COMP_typecheck := apiserver
FUZZ_COMP_body := apiserver
FUZZ_COMP_fieldset := apiserver
FUZZ_COMP_jsonschema := apiserver
FUZZ_COMP_kubeletconfig := kubelet
FUZZ_COMP_staticpod := kubelet
FUZZ_COMP_logreader := kubelet
FUZZ_COMP_cniskel := cni
FUZZ_COMP_hostlocal := cni
FUZZ_COMP_proxyconfig := proxy
comp_nonmain = $(if $(filter cni,$(1)),$(CNI_NONMAIN),$(call nonmain_of,$(1)))
fuzz_objs = $(call obj,$(call comp_nonmain,$(FUZZ_COMP_$(1))))

define fuzz_rules
$(BUILD)/tests/fuzz/test_fuzz_$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/replay.c $(call fuzz_objs,$(1)) $(LIB_A)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo '  LD      $$@')
	$$(Q)$$(CC) $$(ALL_CFLAGS) -DFUZZ_NAME='"$(1)"' $$(LDFLAGS) -o $$@ tests/fuzz/replay.c $$< $(call fuzz_objs,$(1)) $(LIB_A) $$(PKG_LIBS)
$(BUILD)/fuzz/fuzz_$(1): tests/fuzz/fuzz_$(1).c $(call fuzz_objs,$(1)) $(LIB_A)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo '  LD      $$@')
	$$(Q)$$(CC) $$(ALL_CFLAGS) -fsanitize=fuzzer $$(LDFLAGS) -o $$@ $$< $(call fuzz_objs,$(1)) $(LIB_A) $$(PKG_LIBS)
endef
$(foreach f,$(FUZZ_NAMES),$(eval $(call fuzz_rules,$(f))))
ifeq ($(SAN),1)
UNIT_BINS += $(patsubst %,$(BUILD)/tests/fuzz/test_fuzz_%,$(FUZZ_NAMES))
endif

fuzz-build: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))

fuzz:
	$(MAKE) BUILD=build/fuzz BIN=build/fuzz/bin CC=clang FUZZ=1 FUZZ_TARGETS="$(FUZZ_TARGETS)" fuzz-build
	tools/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

unit: $(UNIT_BINS)

deps:
	tools/install-deps.sh

# Builds use every core (JOBS). The runner runs MK_TEST_JOBS tests at once,
# builds the ASan+UBSan unit tests (build/san) beside the first suites and
# runs them too, and prints the totals.
JOBS ?= $(shell nproc)
test: deps
	$(MAKE) -j$(JOBS) all unit
	MK_TEST_SAN=1 tools/run-tests.sh $(TESTS)

bench: all
	tools/run-bench.sh

# A 3-node cluster under churn for SOAK_MINUTES, then checks for lost objects
# and leaks (tools/soak); not part of make test.
SOAK_MINUTES ?= 30
soak: all
	tools/soak $(SOAK_MINUTES)

# A one-node cluster (tools/mk-cluster --help; RUN_ARGS="--nodes 3" for more).
run: all
	tools/mk-cluster --nodes 1 $(RUN_ARGS)

install: all
	install -d $(DESTDIR)/usr/local/bin $(DESTDIR)/opt/cni/bin
	for b in $(filter-out $(BIN)/cni/%,$(BINARIES)); do install -m 755 $$b $(DESTDIR)/usr/local/bin/; done
	for b in $(filter $(BIN)/cni/%,$(BINARIES)); do install -m 755 $$b $(DESTDIR)/opt/cni/bin/; done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build bin

-include $(shell find $(BUILD) -name images -prune -o -name '*.d' -type f -print 2>/dev/null)

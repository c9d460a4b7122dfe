# SPDX-License-Identifier: GPL-2.0
#
# vbus: the one entry point.  `make help` lists the targets.
#
# Kernel modules build through Kbuild against a distribution kernel's
# build tree (detected under /lib/modules; override with KDIR=), user
# space through CMake in $(BUILD)/cmake.

SHELL := /bin/bash
TOP := $(CURDIR)
BUILD ?= $(TOP)/build
CMAKE_BUILD ?= $(BUILD)/cmake
CMAKE_BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local
DESTDIR ?=

# Evaluated when used, so a `make check` on a fresh machine finds the
# kernel that `make deps` just installed.
KDIR ?= $(shell $(TOP)/scripts/find-kdir 2>/dev/null)

.PHONY: all help deps modules tools check check-debug check-rt check-bench lint unit vm-check demo bench install clean

all: modules tools

help:
	@echo "make [all]     build kernel modules and user-space tools"
	@echo "make deps      install the Debian packages the project needs"
	@echo "make modules   kernel modules (KDIR=$(KDIR))"
	@echo "make tools     user-space tools and tests (CMake, $(CMAKE_BUILD))"
	@echo "make check     deps, build, lint, unit tests, VM suites; ends in 'N passed, N failed'"
	@echo "make lint      checkpatch --strict, sparse, W=1 (amd64, cloud, rt), kernel-doc, clang-format, clang-tidy"
	@echo "make unit      unit tests only (CTest)"
	@echo "make vm-check  VM suites only"
	@echo "make check-debug  the VM suites on a debug kernel (KASAN, lockdep, kmemleak, UBSAN, ...)"
	@echo "make check-rt  venet-local and kvm-venet on Debian's PREEMPT_RT kernel (rt-amd64)"
	@echo "make check-bench  the benchmark once in smoke mode; fails when its table is incomplete"
	@echo "make demo      boot a VM and show vbus at work"
	@echo "make bench     benchmarks: venet vs virtio-net/vhost-net, venet-local vs veth"
	@echo "make install   install modules and tools (DESTDIR=, PREFIX=$(PREFIX))"
	@echo "make clean     remove every build product"

deps:
	@$(TOP)/scripts/deps.sh

define need_kdir
	@if [ -z "$(KDIR)" ] || [ ! -f "$(KDIR)/Makefile" ]; then \
		echo "no kernel build tree found under /lib/modules: run 'make deps' or set KDIR=" >&2; \
		exit 1; \
	fi
endef

# The project's modules, then the modules that only the VM tests load.
modules:
	$(need_kdir)
	$(MAKE) -C $(KDIR) M=$(TOP) modules
	@# Kbuild does not notice new symbol versions from another tree.
	@if [ $(TOP)/Module.symvers -nt $(TOP)/tests/vm/modules/Module.symvers ]; then \
		$(MAKE) -s -C $(KDIR) M=$(TOP)/tests/vm/modules clean; \
	fi
	$(MAKE) -C $(KDIR) M=$(TOP)/tests/vm/modules KBUILD_EXTRA_SYMBOLS=$(TOP)/Module.symvers modules

$(CMAKE_BUILD)/CMakeCache.txt:
	cmake -S $(TOP) -B $(CMAKE_BUILD) -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE)

tools: $(CMAKE_BUILD)/CMakeCache.txt
	cmake --build $(CMAKE_BUILD) -j $(JOBS)

unit: tools
	cd $(CMAKE_BUILD) && ctest --output-on-failure -j $(JOBS)

lint: tools
	$(need_kdir)
	$(TOP)/scripts/lint/checkpatch
	$(TOP)/scripts/lint/kernel-warnings $(KDIR)
	$(TOP)/scripts/lint/kernel-flavours
	$(TOP)/scripts/lint/kernel-doc $(KDIR)
	$(TOP)/scripts/lint/cxx format
	$(TOP)/scripts/lint/cxx tidy $(CMAKE_BUILD)
	$(TOP)/scripts/lint/docs

vm-check: modules
	@KDIR=$(KDIR) $(TOP)/tests/check --only vm

check:
	@$(TOP)/scripts/deps.sh
	@$(MAKE) --no-print-directory check-after-deps

.PHONY: check-after-deps
check-after-deps:
	@KDIR=$(KDIR) $(TOP)/tests/check

# The VM suites on a debug build of Debian's 6.1 kernel source, built
# once per machine and cached (scripts/debug-kernel); not part of check.
check-debug:
	@$(TOP)/scripts/deps.sh
	@$(TOP)/scripts/deps.sh --debug-kernel
	@$(TOP)/tests/check --debug

check-rt:
	@$(TOP)/scripts/deps.sh
	@$(TOP)/scripts/deps.sh --rt-kernel
	@$(TOP)/tests/check --rt

# The benchmark once, briefly (about six minutes); not part of check.
check-bench:
	@$(TOP)/scripts/deps.sh
	@KDIR=$(KDIR) $(TOP)/tests/check --only bench

demo:
	@$(TOP)/scripts/deps.sh
	@$(MAKE) --no-print-directory modules tools
	@KDIR=$(KDIR) $(TOP)/scripts/demo

bench:
	@$(TOP)/scripts/deps.sh
	@$(MAKE) --no-print-directory modules tools
	@KDIR=$(KDIR) $(TOP)/bench/run

install: all
	@# No signing key comes with the headers: install unsigned.
	$(MAKE) -C $(KDIR) M=$(TOP) INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=extra/vbus \
		CONFIG_MODULE_SIG_ALL= modules_install
	@# The headers tree has no System.map, so Kbuild skips depmod.
	depmod $(if $(DESTDIR),-b $(DESTDIR)) $$($(TOP)/scripts/kver $(KDIR))
	@# cmake --install prefixes $$DESTDIR (inherited from the command line) itself.
	DESTDIR=$(DESTDIR) cmake --install $(CMAKE_BUILD) --prefix $(PREFIX)

clean:
	@if [ -n "$(KDIR)" ] && [ -f "$(KDIR)/Makefile" ]; then \
		$(MAKE) -C $(KDIR) M=$(TOP) clean; \
		$(MAKE) -C $(KDIR) M=$(TOP)/tests/vm/modules clean; \
	fi
	rm -rf $(BUILD)

# Pagoda - one non-recursive Makefile. Everything generated goes to build/.
#
#   make            build/kernel.elf, build/initrd.tar, build/pagoda.iso
#   make run        boot it in QEMU (installs missing tools first)
#   make test       layering check, host unit tests, in-kernel tests under QEMU, a gdb session
#   make help       every target

BUILD    := build
CC       := gcc
NASM     := nasm
LD       := ld
PYTHON   := python3
MEM      ?= 256M
CMDLINE  ?=

KERNEL_CFLAGS := -std=c11 -ffreestanding -fno-builtin -nostdlib \
	-mno-red-zone -mcmodel=kernel -mgeneral-regs-only -fno-pic -fno-pie \
	-fno-stack-protector -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-asynchronous-unwind-tables \
	-fno-strict-aliasing -O2 -g -Wall -Wextra -Werror -MD -MP -I. -Iinclude
GEN       := $(BUILD)/gen
NASMFLAGS := -f elf64 -g -F dwarf -I$(GEN)/
LDFLAGS   := -nostdlib -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments \
	-L $(GEN) -T linker.ld

HOST_CFLAGS := -std=c11 -DPAGODA_HOST -g -O1 -fsanitize=address,undefined \
	-fno-sanitize-recover=all -Wall -Wextra -Werror -I. -Iinclude

# ---------------------------------------------------------------- sources
BOOT_ASM   := boot/header.asm boot/start.asm boot/start64.asm boot/aptrampoline.asm
KERNEL_ASM := kernel/x64/trap.asm kernel/x64/usercopy.asm kernel/x64/swap.asm kernel/x64/syscall.asm
KERNEL_C   := kernel/init.c kernel/bootinfo.c kernel/dbgprint.c kernel/cpu.c kernel/mp.c kernel/trap.c \
	kernel/bugcheck.c kernel/symbols.c kernel/ktest.c kernel/irql.c kernel/interrupt.c \
	kernel/sched.c kernel/thrdobj.c kernel/dpc.c kernel/timer.c kernel/lock.c kernel/ipi.c kernel/flushtb.c kernel/vfirql.c kernel/event.c \
	kernel/wait.c kernel/syscall.c kernel/kesvc.c kernel/apc.c kernel/apcsvc.c \
	kernel/mutant.c kernel/semaphore.c
HAL_C      := hal/acpi.c hal/apic.c hal/serial.c hal/vga.c hal/power.c hal/pci.c
OB_C       := ob/obref.c ob/obhandle.c ob/obsvc.c ob/obwait.c ob/obdir.c ob/obname.c ob/oblink.c
PS_C       := ps/psmgr.c ps/create.c ps/kill.c ps/psexcept.c ps/query.c ps/ldr.c
EX_C       := ex/event.c ex/sysinfo.c ex/exdisp.c ex/mutant.c ex/semaphore.c ex/timer.c \
	ex/rundown.c
IO_C       := io/initrd.c io/mdl.c io/iomgr.c io/driver.c io/device.c \
	io/irp.c io/vfirp.c io/irpbuild.c io/pendq.c io/file.c io/share.c io/iosvc.c io/iocomp.c io/irq.c \
	io/ldr.c io/ldrsys.c io/ldrexp.c io/ldrquery.c \
	io/drivers/null.c io/drivers/kbdclass.c io/drivers/serial.c io/drivers/console.c \
	io/drivers/iotest.c \
	io/drivers/ata.c io/drivers/partition.c
# Sample drivers (drivers/, docs/drivers.md) also linked into the kernel.
DRIVERS_BUILTIN_C := drivers/nullflt/nullflt.c
MM_C       := mm/init.c mm/pte.c mm/pfn.c mm/fault.c mm/sysva.c mm/pool.c mm/specpool.c mm/poolcore.c \
	mm/poolcheck.c \
	mm/procsup.c mm/vadtree.c mm/probe.c mm/virtual.c \
	mm/ntvm.c mm/zeropage.c mm/mdl.c mm/sysldr.c mm/wsmgr.c mm/pagefile.c
RTL_C      := rtl/format.c rtl/string.c rtl/pattern.c
KTEST_C    := tests/kernel/test_paging.c tests/kernel/test_pfn.c tests/kernel/test_pool.c \
	tests/kernel/test_aspace.c tests/kernel/test_virtual.c \
	tests/kernel/test_bugcheck.c tests/kernel/test_rtl.c tests/kernel/test_probe.c \
	tests/kernel/test_dpc_timer.c tests/kernel/test_sched.c tests/kernel/test_event.c tests/kernel/test_ob.c \
	tests/kernel/test_ntservices.c tests/kernel/test_mmquery.c tests/kernel/test_ktest.c \
	tests/kernel/test_specpool.c \
	tests/kernel/test_apc.c tests/kernel/test_mutant.c tests/kernel/test_obns.c tests/kernel/test_mdl.c \
	tests/kernel/test_irp.c tests/kernel/test_delay.c tests/kernel/test_interrupt.c \
	tests/kernel/test_ata.c tests/kernel/test_partition.c tests/kernel/test_ldr.c \
	tests/kernel/test_vfirql.c tests/kernel/test_wset.c tests/kernel/test_wsaging.c tests/kernel/test_smp.c \
	tests/kernel/test_smplock.c tests/kernel/test_smpipi.c tests/kernel/test_smptb.c \
	tests/kernel/test_smpdpc.c tests/kernel/test_displock.c \
	tests/kernel/test_pagefile.c \
	tests/kernel/kbench.c
# The kernel tests the course labs grade (tests/labs.py, docs/labs/).
KTEST_C    += tests/kernel/test_symbols.c tests/kernel/test_translation.c \
	tests/kernel/test_zeroing.c
KTEST_C    += tests/kernel/test_kbd.c

KERNEL_OBJS := $(patsubst %.asm,$(BUILD)/obj/%.o,$(BOOT_ASM) $(KERNEL_ASM)) \
	$(patsubst %.c,$(BUILD)/obj/%.o,$(KERNEL_C) $(HAL_C) $(OB_C) $(PS_C) $(EX_C) $(IO_C) $(MM_C) \
	$(RTL_C) $(KTEST_C) $(DRIVERS_BUILTIN_C))

# Host unit tests: each program and the sources it exercises.
HOST_TESTS := format string pattern bootinfo vadtree pool pfn
HOST_SRCS_format   := rtl/format.c rtl/string.c
HOST_SRCS_string   :=
HOST_SRCS_pattern  := rtl/pattern.c
HOST_SRCS_bootinfo := kernel/bootinfo.c
HOST_SRCS_vadtree  := mm/vadtree.c
HOST_SRCS_pool     := mm/poolcore.c mm/poolcheck.c
HOST_SRCS_pfn      := mm/pfn.c
HOST_BINS := $(addprefix $(BUILD)/host/test_,$(HOST_TESTS))

.PHONY: all run debug gdb test host-test host-bins ktest fuzz stress check-layers bench grade student pictures tools \
	help clean format asmlint FORCE
all: $(BUILD)/kernel.elf $(BUILD)/initrd.tar $(BUILD)/pagoda.iso

# ---------------------------------------------------------------- kernel
$(BUILD)/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.asm Makefile $(GEN)/asmdefs.inc
	@mkdir -p $(dir $@)
	$(NASM) $(NASMFLAGS) -MD $(@:.o=.d) $< -o $@

# The constants of the assembly code and the linker script, from the C
# headers (kernel/x64/asmdefs.c compiled to assembler text, then
# tools/genasmdefs.py). asmdefs.d lists the headers it read.
$(GEN)/asmdefs.s: kernel/x64/asmdefs.c Makefile
	@mkdir -p $(GEN)
	$(CC) $(KERNEL_CFLAGS) -MF $(GEN)/asmdefs.d -MT $@ -S $< -o $@

$(GEN)/asmdefs.inc: $(GEN)/asmdefs.s tools/genasmdefs.py
	$(PYTHON) tools/genasmdefs.py inc $< $@

$(GEN)/asmdefs.ld: $(GEN)/asmdefs.s tools/genasmdefs.py
	$(PYTHON) tools/genasmdefs.py ld $< $@

# Two links: the first gives the symbol table that backtraces need; it is
# compiled into .ksyms, which linker.ld places last so nothing else moves.
$(BUILD)/ksyms-empty.c: tools/gensyms.py
	@mkdir -p $(BUILD)
	$(PYTHON) tools/gensyms.py - $@

$(BUILD)/ksyms%.o: $(BUILD)/ksyms%.c
	$(CC) $(KERNEL_CFLAGS) -c $< -o $@

$(BUILD)/kernel.stage1.elf: $(KERNEL_OBJS) $(BUILD)/ksyms-empty.o linker.ld $(GEN)/asmdefs.ld
	$(LD) $(LDFLAGS) -o $@ $(KERNEL_OBJS) $(BUILD)/ksyms-empty.o

$(BUILD)/ksyms-final.c: $(BUILD)/kernel.stage1.elf tools/gensyms.py
	nm -n $< > $(BUILD)/kernel.stage1.nm
	$(PYTHON) tools/gensyms.py $(BUILD)/kernel.stage1.nm $@

$(BUILD)/kernel.elf: $(BUILD)/kernel.stage1.elf $(BUILD)/ksyms-final.o
	$(LD) $(LDFLAGS) -o $@ $(KERNEL_OBJS) $(BUILD)/ksyms-final.o
	@nm -n $@ | grep -v -e KiSymbol -e ksyms -e __kernel_end -e __kernel_phys_end > $(BUILD)/kernel.final.nm
	@grep -v -e KiSymbol -e ksyms -e __kernel_end -e __kernel_phys_end $(BUILD)/kernel.stage1.nm | diff -q - $(BUILD)/kernel.final.nm >/dev/null \
		|| { echo "error: adding the symbol table moved other symbols (see linker.ld)"; exit 1; }

# ---------------------------------------------------------------- user programs
# Static ELF64 executables at 0x140000000 (user/user.ld), built with the host
# gcc. -fpie only makes the code RIP-relative (the image sits above 4 GiB,
# out of reach of -mcmodel=small's 32-bit absolute addresses); the link is an
# ordinary static, non-PIE one, so the files have PT_LOAD segments only.
USER_CFLAGS := -std=c11 -ffreestanding -fno-builtin -nostdlib -fpie -fno-plt \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fno-strict-aliasing -O2 -g -Wall -Wextra -Werror -MD -MP -I. -Iinclude -Iuser/include
USER_LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack -T user/user.ld

USER_LIB_SRCS := user/lib/syscalls.S user/lib/startup.c user/lib/stdio.c \
	user/lib/stdlib.c user/lib/pagoda.c user/lib/apc.c user/lib/ntrtl.c rtl/format.c \
	rtl/string.c
USER_PROGRAMS := sh hello true vademo prodcons crash usertests ubench fuzz iodemo pagestress disk
USER_TESTS_C  := user/tests/runner.c user/tests/test_events.c user/tests/test_handles.c \
	user/tests/test_vm.c user/tests/test_process.c user/tests/test_wait.c \
	user/tests/test_query.c user/tests/test_crash.c user/tests/test_thread.c \
	user/tests/test_stack.c user/tests/test_apc.c user/tests/test_mutant.c \
	user/tests/test_names.c user/tests/test_robust.c user/tests/test_io.c user/tests/test_delay.c \
	user/tests/test_drivers.c
USER_SRCS_usertests := $(USER_TESTS_C)

user_obj = $(patsubst %,$(BUILD)/user/obj/%.o,$(basename $(1)))
USER_CRT0 := $(BUILD)/user/obj/user/lib/crt0.o
USER_LIB  := $(BUILD)/user/libpagoda.a
USER_BINS := $(addprefix $(BUILD)/initrd-root/bin/,$(USER_PROGRAMS))

$(BUILD)/user/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -c $< -o $@

$(BUILD)/user/obj/%.o: %.S include/ntsyscalls.h Makefile
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -c $< -o $@

$(USER_LIB): $(call user_obj,$(USER_LIB_SRCS))
	@rm -f $@
	ar rcs $@ $^

# Each program: user/bin/NAME.c plus USER_SRCS_NAME, crt0 first.
.SECONDEXPANSION:
$(BUILD)/user/%.elf: $(USER_CRT0) $$(call user_obj,user/bin/$$*.c $$(USER_SRCS_$$*)) $(USER_LIB) user/user.ld
	$(LD) $(USER_LDFLAGS) -o $@ $(USER_CRT0) $(call user_obj,user/bin/$*.c $(USER_SRCS_$*)) $(USER_LIB)

# Keep the linked .elf files (with symbols, for gdb) although only the
# copies in initrd-root are wanted by the initrd.
.SECONDARY: $(patsubst %,$(BUILD)/user/%.elf,$(USER_PROGRAMS)) $(USER_CRT0) \
	$(call user_obj,$(addprefix user/bin/,$(addsuffix .c,$(USER_PROGRAMS))) $(USER_TESTS_C))

$(BUILD)/initrd-root/bin/%: $(BUILD)/user/%.elf
	@mkdir -p $(dir $@)
	cp $< $@

.PHONY: user
user: $(USER_BINS)

# ---------------------------------------------------------------- loadable drivers
# drivers/NAME/NAME.c -> build/drivers/NAME.sys: one ELF relocatable object
# (gcc -c), large code model so every reference to the kernel is a 64-bit
# absolute relocation the loader can fill wherever the image lands
# (io/ldr.c, docs/drivers.md). The initrd carries them in /drivers.
DRIVERS_SYS := hello nullflt badimp delay pagedlock
SYS_CFLAGS  := $(subst -mcmodel=kernel,-mcmodel=large,$(KERNEL_CFLAGS)) -fno-common \
	-DPAGODA_LOADABLE_DRIVER
SYS_FILES   := $(addprefix $(BUILD)/initrd-root/drivers/,$(addsuffix .sys,$(DRIVERS_SYS)))

# The built-in copy of a sample driver renames its DriverEntry.
$(BUILD)/obj/drivers/%.o: KERNEL_CFLAGS += -DPAGODA_BUILTIN_DRIVER

$(BUILD)/drivers/%.sys: drivers/$$*/$$*.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(SYS_CFLAGS) -MF $(@:.sys=.d) -c $< -o $@

$(BUILD)/initrd-root/drivers/%.sys: $(BUILD)/drivers/%.sys
	@mkdir -p $(dir $@)
	cp $< $@

# Keep build/drivers/*.sys: gdb loads their symbols (add-symbol-file).
.SECONDARY: $(addprefix $(BUILD)/drivers/,$(addsuffix .sys,$(DRIVERS_SYS)))

.PHONY: drivers
drivers: $(SYS_FILES)

# ---------------------------------------------------------------- initrd, ISO
INITRD_FILES := $(wildcard initrd/*)
$(BUILD)/initrd.tar: $(INITRD_FILES) $(USER_BINS) $(SYS_FILES)
	@mkdir -p $(BUILD)/initrd-root/bin
	@[ -z "$(INITRD_FILES)" ] || cp -r $(INITRD_FILES) $(BUILD)/initrd-root/
	tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@0 --sort=name \
		-cf $@ -C $(BUILD)/initrd-root .

# The ISO carries the command line in its grub.cfg: rebuild it when CMDLINE
# changes (build/cmdline remembers the last one).
$(BUILD)/cmdline: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CMDLINE)' | cmp -s - $@ || echo '$(CMDLINE)' > $@

$(BUILD)/pagoda.iso: $(BUILD)/kernel.elf $(BUILD)/initrd.tar boot/grub.cfg.in tools/mkiso.sh $(BUILD)/cmdline
	set -f; tools/mkiso.sh $(BUILD)/kernel.elf $(BUILD)/initrd.tar $@ $(CMDLINE)

FORCE:

# ---------------------------------------------------------------- run, debug
tools:
	@tools/ensure-tools.sh

# The disk of make run and make debug: made once by tools/mkdisk.py (an MBR
# and a partition reserved for the pagefile) and kept, so what a boot
# writes is there in the next one. `rm build/disk.img` starts afresh.
DISK_IMG := $(BUILD)/disk.img
$(DISK_IMG): tools/mkdisk.py
	@[ -f $@ ] || $(PYTHON) tools/mkdisk.py $@

# QEMU exits with 33 when the kernel powers off normally (hal/power.c).
run: tools all $(DISK_IMG)
	MEM=$(MEM) tools/qemu.sh --iso $(BUILD)/pagoda.iso --disk $(DISK_IMG) || [ $$? -eq 33 ]

debug: tools all $(DISK_IMG)
	@echo "QEMU waits for gdb on localhost:1234; in another terminal: make gdb"
	MEM=$(MEM) tools/qemu.sh --iso $(BUILD)/pagoda.iso --disk $(DISK_IMG) --gdb || [ $$? -eq 33 ]

gdb: $(BUILD)/kernel.elf
	gdb -q -x tools/gdb/gdbinit $(BUILD)/kernel.elf

# ---------------------------------------------------------------- tests
$(BUILD)/host/test_%: tests/host/test_%.c tests/host/htest.h $$(HOST_SRCS_$$*)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $< $(HOST_SRCS_$*) -o $@

host-bins: $(HOST_BINS)

host-test: $(HOST_BINS)
	@for t in $(HOST_BINS); do $$t || exit 1; done

# No structure offset or architectural number typed into the assembly:
# they come from build/gen/asmdefs.inc (tools/asmlint.py says what is allowed).
asmlint: $(GEN)/asmdefs.inc
	$(PYTHON) tools/asmlint.py --defs $< --self-test
	$(PYTHON) tools/asmlint.py --defs $< $(BOOT_ASM) $(KERNEL_ASM) kernel/x64/ktrap.inc kernel/x64/cfi.inc

test: tools all $(HOST_BINS) asmlint
	$(PYTHON) tests/run.py --kernel $(BUILD)/kernel.elf --initrd $(BUILD)/initrd.tar --mem-sizes 32M,4G,16G \
		$(addprefix --host-test ,$(HOST_BINS))

# The layering and function-length rules (tools/check_layers.py); make test
# runs them too, as its "layers" step.
check-layers:
	$(PYTHON) tools/check_layers.py
	$(PYTHON) tools/check_layers.py --self-test

# Pictures of a live system (tools/pictures.py): two processes' page tables
# side by side, physical memory by use; SVG (and PNG with rsvg-convert).
pictures: tools all
	$(PYTHON) tools/pictures.py --out $(BUILD)/pictures

# The course labs (docs/labs/): grade one, or write a student tree.
grade: tools all $(HOST_BINS)
	$(PYTHON) tests/grade.py $(if $(LAB),--lab $(LAB)) $(if $(TEST),--test $(TEST))

student:
	@[ -n "$(LAB)" ] && [ -n "$(DIR)" ] || { echo "usage: make student LAB=N DIR=path"; exit 2; }
	$(PYTHON) tools/mklab.py $(LAB) $(DIR)

# The system-call fuzzer (/bin/fuzz, docs/verifier.md): FUZZ is SEED CALLS
# SEEDS, a million calls by default; make test runs a short deterministic run.
FUZZ ?= 1 10000 100
fuzz: tools all
	$(PYTHON) tests/run.py --kernel $(BUILD)/kernel.elf --initrd $(BUILD)/initrd.tar --only fuzz \
		--fuzz "$(FUZZ)" --timeout 3600

# Ten minutes of paging at -m 32M (STRESS_SECONDS to change it): not in make test.
STRESS_SECONDS ?= 600
stress: tools all
	$(PYTHON) tools/stress.py --kernel $(BUILD)/kernel.elf --initrd $(BUILD)/initrd.tar \
		--seconds $(STRESS_SECONDS)

ktest: tools all
	$(PYTHON) tests/run.py --kernel $(BUILD)/kernel.elf --initrd $(BUILD)/initrd.tar --only ktest

# Deterministic instruction counts per operation (docs/performance.md):
# two boots under -icount shift=0,sleep=off; figures also in build/bench.json.
bench: tools all
	$(PYTHON) tools/bench.py --kernel $(BUILD)/kernel.elf --initrd $(BUILD)/initrd.tar \
		--json $(BUILD)/bench.json

# Format the C lines changed since the last commit (staged or not; new
# files once `git add`ed) with .clang-format. Whole files are not
# reformatted: hand-aligned tables and diagrams stay as written, so on a
# clean checkout this changes nothing.
format:
	@command -v git-clang-format >/dev/null 2>&1 || { echo "make format needs clang-format: apt-get install clang-format"; exit 1; }
	git clang-format --force --extensions c,h HEAD

clean:
	rm -rf $(BUILD)

help:
	@echo "Pagoda targets:"
	@echo "  make            build build/kernel.elf, build/initrd.tar, build/pagoda.iso"
	@echo "  make run        boot in QEMU (TCG, -cpu max, serial on this terminal; MEM=256M),"
	@echo "                  with build/disk.img as the IDE disk (made once by tools/mkdisk.py, kept)"
	@echo "                  CMDLINE='quiet' or 'ktest=pfn.*' sets the kernel command line"
	@echo "  make debug      like run, but QEMU waits for gdb on localhost:1234"
	@echo "  make gdb        gdb with the kernel's symbols, connected, stopping at KiSystemStartup"
	@echo "  make test       layering check, host unit tests, in-kernel and bugcheck tests under QEMU,"
	@echo "                  boots at several memory sizes, the whole ktest suite and usertests at"
	@echo "                  -m 32M with a 129 MiB pagefile, two scripted gdb sessions, a short fuzz run"
	@echo "  make ktest      only the in-kernel tests"
	@echo "  make drivers    the sample drivers as .sys objects (build/drivers/, in the initrd's"
	@echo "                  /drivers; shell: load NAME; docs/drivers.md)"
	@echo "  make fuzz       the system-call fuzzer, a million calls (FUZZ='SEED CALLS SEEDS',"
	@echo "                  default '1 10000 100'): calls made, child endings by status, drift"
	@echo "  make stress     pagestress at -m 32M with a 160 MiB pagefile: 4 processes x 24 MiB,"
	@echo "                  every word checked, for STRESS_SECONDS (default 600) (docs/paging.md)"
	@echo "  make host-test  only the host unit tests"
	@echo "  make check-layers  only the layering and function-length check (and its self-test)"
	@echo "  make asmlint    check that the assembly takes its numbers from build/gen/asmdefs.inc"
	@echo "  make grade      LAB=N [TEST=name]: run a lab's graded tests and score them"
	@echo "                  (in a student tree LAB defaults to its lab; docs/labs/)"
	@echo "  make student    LAB=N DIR=path: write the student tree for lab N"
	@echo "  make pictures   draw two live address spaces and physical memory (build/pictures/)"
	@echo "  make bench      benchmarks under -icount (instructions per operation, vs targets"
	@echo "                  and Linux); figures in build/bench.json (docs/performance.md)"
	@echo "  make tools      install missing tools (qemu, nasm, grub, xorriso, mtools, gdb)"
	@echo "  make format     clang-format the C lines changed since the last commit"
	@echo "  make clean      remove build/"

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
-include $(GEN)/asmdefs.d
-include $(shell find $(BUILD)/user -name '*.d' 2>/dev/null)
-include $(wildcard $(BUILD)/drivers/*.d)

; start.asm - from GRUB's 32-bit protected mode to the 64-bit higher-half
; kernel.
;
; GRUB enters KiBootEntry32 with (multiboot2 spec, 3.3):
;   EAX = 0x36D76289 (the multiboot2 magic), EBX = physical address of the
;   multiboot2 information, paging off, flat 32-bit segments, interrupts off,
;   no usable stack.
;
; This file runs at its physical address (the linker gives .boot.* sections
; the same virtual and physical address, 1 MiB and up). Its steps:
;   1. set up a stack, keep EAX/EBX;
;   2. check the magic and the CPU (CPUID, long mode, PAE, NX); on failure
;      print one sentence on COM1 and the VGA screen and halt;
;   3. build the boot page tables:
;        identity map of the first 4 GiB     (PML4[0]   -> PDPT -> 4 PDs of 2 MiB pages)
;        kernel window 0xFFFFFFFF80000000    (PML4[511] -> PDPT[510] -> the first 1 GiB)
;      The identity map keeps this code running once paging is on, and lets
;      the kernel read GRUB's information and build its own tables; the
;      kernel's own tables (mm/init.c) never contain it, so it is gone as
;      soon as CR3 switches to them;
;   4. CR4.PAE, CR3, EFER.LME and EFER.NXE, CR0.PG: long mode (compatibility
;      sub-mode) is active (Intel SDM Vol. 3A, 10.8.5 "Initializing IA-32e Mode");
;   5. load a 64-bit GDT and far-jump to a 64-bit code segment;
;   6. jump to the higher half, to KiBootHigherHalf (boot/start64.asm),
;      which switches to the kernel stack and calls
;      KiSystemStartup(MbiPhysical, Magic).
;
; The numbers (MSRs, control-register bits, page-table bits, the UART's
; registers, sizes) come from the C headers through build/gen/asmdefs.inc
; (kernel/x64/asmdefs.c); tools/asmlint.py keeps hand-copied ones out.

bits 32

%include "asmdefs.inc"

extern KiBootHigherHalf               ; boot/start64.asm

VGA_WHITE_ON_RED equ 0x4F          ; the attribute byte of a fatal message's cells

section .boot.text progbits alloc exec nowrite

global KiBootEntry32
KiBootEntry32:
    cli
    cld
    mov esp, boot_stack_top
    mov edi, eax                    ; EDI = magic, ESI = MBI (callee-saved in our code)
    mov esi, ebx

    call boot_serial_init

    cmp edi, MULTIBOOT2_BOOTLOADER_MAGIC
    jne .no_multiboot2

    ; CPUID exists when EFLAGS.ID can be toggled (SDM Vol. 1, 19.1).
    pushfd
    pop eax
    mov ecx, eax
    xor eax, EFLAGS_ID
    push eax
    popfd
    pushfd
    pop eax
    push ecx
    popfd
    cmp eax, ecx
    je .no_cpuid

    ; Extended leaf 0x80000001: EDX.LM = long mode, EDX.NX.
    mov eax, CPUID_EXTENDED_MAX_LEAF
    cpuid
    cmp eax, CPUID_EXTENDED_FEATURES
    jb .no_long_mode
    mov eax, CPUID_EXTENDED_FEATURES
    cpuid
    test edx, CPUID_80000001_EDX_LM
    jz .no_long_mode
    test edx, CPUID_80000001_EDX_NX
    jz .no_nx

    ; Leaf 1: EDX.PAE, and ECX.SSE4_2 for the crc32 instruction the pool's
    ; header check uses (mm/poolcore.h).
    mov eax, 1
    cpuid
    test edx, CPUID_1_EDX_PAE
    jz .no_pae
    test ecx, CPUID_1_ECX_SSE42
    jz .no_sse42

    call boot_build_page_tables

    ; CR4.PAE: 64-bit page-table entries, required for long mode.
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax

    mov eax, boot_pml4
    mov cr3, eax

    ; IA32_EFER: LME enables long mode, NXE makes bit 63 of page-table
    ; entries mean no-execute.
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME | EFER_NXE
    wrmsr

    ; CR0.PG with LME set activates long mode.
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax

    lgdt [boot_gdt_descriptor]
    jmp BOOT_CODE64:boot_long_mode_entry

.no_multiboot2:
    mov ebx, msg_no_multiboot2
    jmp boot_fatal
.no_cpuid:
    mov ebx, msg_no_cpuid
    jmp boot_fatal
.no_long_mode:
    mov ebx, msg_no_long_mode
    jmp boot_fatal
.no_nx:
    mov ebx, msg_no_nx
    jmp boot_fatal
.no_sse42:
    mov ebx, msg_no_sse42
    jmp boot_fatal
.no_pae:
    mov ebx, msg_no_pae
    jmp boot_fatal

; Fill the boot page tables (zeroed: they live in .boot.bss, which GRUB
; zero-fills as the ELF program header asks).
boot_build_page_tables:
    ; PML4[0] -> identity PDPT, PML4[KI_BOOT_KERNEL_PXE] -> kernel PDPT.
    mov eax, boot_pdpt_identity
    or eax, MM_PTE_VALID | MM_PTE_WRITE
    mov [boot_pml4], eax
    mov eax, boot_pdpt_kernel
    or eax, MM_PTE_VALID | MM_PTE_WRITE
    mov [boot_pml4 + KI_BOOT_KERNEL_PXE * MMPTE_SIZE], eax

    ; Identity PDPT[0..KI_BOOT_PPE_COUNT-1] -> the PDs; kernel
    ; PDPT[KI_BOOT_KERNEL_PPE] -> the first PD (KERNEL_VMA,
    ; 0xFFFFFFFF80000000, is PML4 index 511, PDPT index 510).
    xor ecx, ecx
.pdpt_loop:
    mov eax, ecx
    shl eax, PAGE_SHIFT
    add eax, boot_pd
    or eax, MM_PTE_VALID | MM_PTE_WRITE
    mov [boot_pdpt_identity + ecx * MMPTE_SIZE], eax
    inc ecx
    cmp ecx, KI_BOOT_PPE_COUNT
    jb .pdpt_loop
    mov eax, boot_pd
    or eax, MM_PTE_VALID | MM_PTE_WRITE
    mov [boot_pdpt_kernel + KI_BOOT_KERNEL_PPE * MMPTE_SIZE], eax

    ; KI_BOOT_PDE_COUNT (2048) PD entries of 2 MiB each cover 4 GiB. The
    ; physical address of entry i is i * 2 MiB: bits 32 and up go in the
    ; entry's high dword.
    xor ecx, ecx
.pd_loop:
    mov eax, ecx
    shl eax, KI_BOOT_PAGE_SHIFT
    or eax, MM_PTE_VALID | MM_PTE_WRITE | MM_PTE_LARGE_PAGE
    mov [boot_pd + ecx * MMPTE_SIZE], eax
    mov eax, ecx
    shr eax, 32 - KI_BOOT_PAGE_SHIFT
    mov [boot_pd + ecx * MMPTE_SIZE + LARGE_INTEGER_HighPart], eax
    inc ecx
    cmp ecx, KI_BOOT_PDE_COUNT
    jb .pd_loop
    ret

; COM1 at 115200 baud, 8N1, FIFOs on (16550 UART registers).
boot_serial_init:
    mov dx, COM1_PORT + UART_IER    ; interrupt enable: none
    xor al, al
    out dx, al
    mov dx, COM1_PORT + UART_LCR    ; line control: DLAB on
    mov al, UART_LCR_DLAB
    out dx, al
    mov dx, COM1_PORT + UART_DATA   ; divisor low: 1 = 115200 baud
    mov al, UART_DIVISOR_115200
    out dx, al
    mov dx, COM1_PORT + UART_IER    ; divisor high
    xor al, al
    out dx, al
    mov dx, COM1_PORT + UART_LCR    ; 8 bits, no parity, 1 stop, DLAB off
    mov al, UART_LCR_8N1
    out dx, al
    mov dx, COM1_PORT + UART_FCR    ; FIFO on, cleared, 14-byte threshold
    mov al, UART_FCR_ENABLE
    out dx, al
    mov dx, COM1_PORT + UART_MCR    ; DTR, RTS, OUT2
    mov al, UART_MCR_DTR_RTS_OUT2
    out dx, al
    ret

; Print the NUL-terminated sentence at EBX on COM1 and on the VGA text
; screen (white on red), then power off through QEMU's isa-debug-exit if
; it is there, else halt for ever. Never returns, never reboots.
boot_fatal:
    mov esi, ebx
    mov edi, HAL_VGA_TEXT_PHYSICAL
.next:
    lodsb
    test al, al
    jz .done
    mov bl, al
    mov dx, COM1_PORT + UART_LSR    ; line status: wait for THR empty
.wait:
    in al, dx
    test al, LSR_THR_EMPTY
    jz .wait
    mov al, bl
    mov dx, COM1_PORT + UART_DATA
    out dx, al
    mov ah, VGA_WHITE_ON_RED        ; one screen cell: character, attribute
    stosw
    jmp .next
.done:
    mov dx, HAL_DEBUG_EXIT_PORT
    mov al, HAL_EXIT_CANNOT_BOOT    ; QEMU exits with 39 (hal/hal.h)
    out dx, al
.halt:
    cli
    hlt
    jmp .halt

msg_no_multiboot2:
    db "Pagoda: not started by a multiboot2 boot loader (wrong magic in EAX); boot it with GRUB2's multiboot2 command.", 13, 10, 0
msg_no_cpuid:
    db "Pagoda: this CPU has no CPUID instruction; Pagoda needs an x86-64 CPU.", 13, 10, 0
msg_no_long_mode:
    db "Pagoda: this CPU does not support 64-bit long mode; Pagoda needs an x86-64 CPU (in QEMU: -cpu max).", 13, 10, 0
msg_no_nx:
    db "Pagoda: this CPU lacks the NX (no-execute) page bit; Pagoda needs it for W^X (in QEMU: -cpu max).", 13, 10, 0
msg_no_pae:
    db "Pagoda: this CPU lacks PAE; long mode needs it (in QEMU: -cpu max).", 13, 10, 0
msg_no_sse42:
    db "Pagoda: this CPU lacks SSE4.2; the pool's header check uses its crc32 instruction (in QEMU: -cpu max).", 13, 10, 0

; The boot GDT: null, 64-bit code (L=1), data. The kernel loads its own GDT
; (with a TSS) in kernel/cpu.c; this one only carries us into long mode.
align 8
boot_gdt:
    dq 0
.code64:
    dq KI_BOOT_GDT_CODE64           ; code: present, ring 0, exec/read, L=1
.data:
    dq KI_BOOT_GDT_DATA             ; data: present, ring 0, read/write
boot_gdt_end:
BOOT_CODE64 equ boot_gdt.code64 - boot_gdt  ; the selectors: offsets in the table
BOOT_DATA   equ boot_gdt.data - boot_gdt

boot_gdt_descriptor:
    dw boot_gdt_end - boot_gdt - 1
    dq boot_gdt

bits 64
boot_long_mode_entry:
    mov ax, BOOT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax
    mov gs, ax

    ; Still at a low (identity-mapped) address: jump to the kernel's linked
    ; address in the higher half through a register (an absolute 64-bit
    ; target).
    mov rax, KiBootHigherHalf
    jmp rax

section .boot.bss nobits alloc write
align PAGE_SIZE
boot_pml4:          resb PAGE_SIZE
boot_pdpt_identity: resb PAGE_SIZE
boot_pdpt_kernel:   resb PAGE_SIZE
boot_pd:            resb KI_BOOT_PPE_COUNT * PAGE_SIZE
boot_stack:         resb KI_BOOT_STACK32_SIZE
boot_stack_top:

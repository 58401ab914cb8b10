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
;   6. jump to the higher half, switch to the kernel stack and call
;      KiSystemStartup(MbiPhysical, Magic) (System V ABI: RDI, RSI).

bits 32

extern KiSystemStartup
extern KiBootStackTop

KERNEL_VMA      equ 0xFFFFFFFF80000000
MB2_MAGIC_EAX   equ 0x36D76289
COM1            equ 0x3F8
DEBUG_EXIT_PORT equ 0xF4
EXIT_CANNOT_BOOT equ 0x13          ; see kernel/power.c: QEMU exits with 39

PTE_P   equ 1 << 0                 ; present
PTE_W   equ 1 << 1                 ; writable
PTE_PS  equ 1 << 7                 ; 2 MiB page (in a PD entry)

section .boot.text progbits alloc exec nowrite

global KiBootEntry32
KiBootEntry32:
    cli
    cld
    mov esp, boot_stack_top
    mov edi, eax                    ; EDI = magic, ESI = MBI (callee-saved in our code)
    mov esi, ebx

    call boot_serial_init

    cmp edi, MB2_MAGIC_EAX
    jne .no_multiboot2

    ; CPUID exists when EFLAGS.ID (bit 21) can be toggled (SDM Vol. 1, 19.1).
    pushfd
    pop eax
    mov ecx, eax
    xor eax, 1 << 21
    push eax
    popfd
    pushfd
    pop eax
    push ecx
    popfd
    cmp eax, ecx
    je .no_cpuid

    ; Extended leaves 0x80000001: EDX bit 29 = long mode, bit 20 = NX.
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29
    jz .no_long_mode
    test edx, 1 << 20
    jz .no_nx

    ; Leaf 1: EDX bit 6 = PAE.
    mov eax, 1
    cpuid
    test edx, 1 << 6
    jz .no_pae

    call boot_build_page_tables

    ; CR4.PAE (bit 5): 64-bit page-table entries, required for long mode.
    mov eax, cr4
    or eax, 1 << 5
    mov cr4, eax

    mov eax, boot_pml4
    mov cr3, eax

    ; IA32_EFER (MSR 0xC0000080): LME (bit 8) enables long mode,
    ; NXE (bit 11) makes bit 63 of page-table entries mean no-execute.
    mov ecx, 0xC0000080
    rdmsr
    or eax, (1 << 8) | (1 << 11)
    wrmsr

    ; CR0.PG (bit 31) with LME set activates long mode.
    mov eax, cr0
    or eax, 1 << 31
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
.no_pae:
    mov ebx, msg_no_pae
    jmp boot_fatal

; Fill the boot page tables (zeroed: they live in .boot.bss, which GRUB
; zero-fills as the ELF program header asks).
boot_build_page_tables:
    ; PML4[0] -> identity PDPT, PML4[511] -> kernel PDPT.
    mov eax, boot_pdpt_identity
    or eax, PTE_P | PTE_W
    mov [boot_pml4 + 0 * 8], eax
    mov eax, boot_pdpt_kernel
    or eax, PTE_P | PTE_W
    mov [boot_pml4 + 511 * 8], eax

    ; Identity PDPT[0..3] -> the four PDs; kernel PDPT[510] -> the first PD
    ; (0xFFFFFFFF80000000 is PML4 index 511, PDPT index 510).
    xor ecx, ecx
.pdpt_loop:
    mov eax, ecx
    shl eax, 12
    add eax, boot_pd
    or eax, PTE_P | PTE_W
    mov [boot_pdpt_identity + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jb .pdpt_loop
    mov eax, boot_pd
    or eax, PTE_P | PTE_W
    mov [boot_pdpt_kernel + 510 * 8], eax

    ; 2048 PD entries of 2 MiB each cover 4 GiB. The physical address of
    ; entry i is i * 2 MiB: bits 32 and up go in the entry's high dword.
    xor ecx, ecx
.pd_loop:
    mov eax, ecx
    shl eax, 21
    or eax, PTE_P | PTE_W | PTE_PS
    mov [boot_pd + ecx * 8], eax
    mov eax, ecx
    shr eax, 11
    mov [boot_pd + ecx * 8 + 4], eax
    inc ecx
    cmp ecx, 2048
    jb .pd_loop
    ret

; COM1 at 115200 baud, 8N1, FIFOs on (16550 UART registers).
boot_serial_init:
    mov dx, COM1 + 1                ; interrupt enable: none
    xor al, al
    out dx, al
    mov dx, COM1 + 3                ; line control: DLAB on
    mov al, 0x80
    out dx, al
    mov dx, COM1 + 0                ; divisor low: 1 = 115200 baud
    mov al, 1
    out dx, al
    mov dx, COM1 + 1                ; divisor high
    xor al, al
    out dx, al
    mov dx, COM1 + 3                ; 8 bits, no parity, 1 stop, DLAB off
    mov al, 0x03
    out dx, al
    mov dx, COM1 + 2                ; FIFO on, cleared, 14-byte threshold
    mov al, 0xC7
    out dx, al
    mov dx, COM1 + 4                ; DTR, RTS, OUT2
    mov al, 0x0B
    out dx, al
    ret

; Print the NUL-terminated sentence at EBX on COM1 and on the VGA text
; screen (white on red), then power off through QEMU's isa-debug-exit if
; it is there, else halt for ever. Never returns, never reboots.
boot_fatal:
    mov esi, ebx
    mov edi, 0xB8000
.next:
    lodsb
    test al, al
    jz .done
    mov ah, al
    mov dx, COM1 + 5                ; line status: wait for THR empty (bit 5)
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov al, ah
    mov dx, COM1
    out dx, al
    mov byte [edi], ah
    mov byte [edi + 1], 0x4F
    add edi, 2
    jmp .next
.done:
    mov dx, DEBUG_EXIT_PORT
    mov al, EXIT_CANNOT_BOOT
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

; The boot GDT: null, 64-bit code (L=1), data. The kernel loads its own GDT
; (with a TSS) in kernel/cpu.c; this one only carries us into long mode.
align 8
boot_gdt:
    dq 0
    dq 0x00AF9A000000FFFF           ; code: present, ring 0, exec/read, L=1
    dq 0x00CF92000000FFFF           ; data: present, ring 0, read/write
boot_gdt_end:
BOOT_CODE64 equ 0x08
BOOT_DATA   equ 0x10

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

; From here on the code runs at its linked higher-half address.
section .text
global KiBootHigherHalf
KiBootHigherHalf:
    mov rsp, KiBootStackTop         ; the kernel stack in .bss
    xor ebp, ebp                    ; end of the frame-pointer chain for backtraces
    mov edi, esi                    ; RDI = MBI physical address (zero-extended)
    mov esi, MB2_MAGIC_EAX          ; RSI = magic (already checked)
    call KiSystemStartup
.hang:
    cli
    hlt
    jmp .hang

section .boot.bss nobits alloc write
align 4096
boot_pml4:          resb 4096
boot_pdpt_identity: resb 4096
boot_pdpt_kernel:   resb 4096
boot_pd:            resb 4 * 4096
boot_stack:         resb 4096
boot_stack_top:

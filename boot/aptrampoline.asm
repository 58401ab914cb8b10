; aptrampoline.asm - where an application processor starts: real mode to
; long mode on the kernel's page tables, then into C.
;
; These bytes are data in the kernel image (section .rodata): kernel/mp.c
; copies them to the frame at KI_AP_TRAMPOLINE_PHYSICAL (below 1 MiB) and
; sends the processor a STARTUP IPI whose vector is that frame's number
; (Intel SDM Vol. 3A, "MP Initialization Example" in the chapter
; "Multiple-Processor Management"). The processor
; starts here in real mode at CS:IP = (vector << 8):0000, interrupts off.
; Every address below is therefore written as an offset from
; KiApTrampolineStart plus KI_AP_TRAMPOLINE_PHYSICAL (the TRAMP macro).
;
;   16-bit real mode   load the trampoline's GDT, set CR0.PE, far jump
;   32-bit protected   check CPUID.1:EBX[31:24] (the initial APIC id) is the
;                      one the startup block names, and claim the start
;                      (lock cmpxchg Claim 0 -> KI_AP_CLAIMED); else park
;                      at once: a latecomer the boot processor gave up on,
;                      whose stacks may be gone;
;                      CR4.PAE, CR3 = the temporary PML4 (the kernel's
;                      system half + an identity map of the first 2 MiB),
;                      EFER.LME and EFER.NXE, CR0.PG: long mode
;                      (SDM Vol. 3A, "Initializing IA-32e Mode"), far
;                      jump to 64-bit code
;   64-bit             still at a low address: take the stack, argument and
;                      entry from the startup block, clear RBP, push a null
;                      return address (the end of a backtrace) and jump to
;                      KiStartApplicationProcessor (kernel/mp.c) in the
;                      higher half, which loads the kernel's own CR3.
;
; The startup block (KI_AP_STARTUP_BLOCK, kernel/ki.h) lies at
; KI_AP_STARTUP_BLOCK_OFFSET in the same frame; the boot processor fills it
; before each STARTUP IPI and starts one processor at a time.

%include "asmdefs.inc"

%define TRAMP(Label) (KI_AP_TRAMPOLINE_PHYSICAL + (Label) - KiApTrampolineStart)
%define BLOCK(Field) (KI_AP_TRAMPOLINE_PHYSICAL + KI_AP_STARTUP_BLOCK_OFFSET + KI_AP_STARTUP_BLOCK_ %+ Field)

section .rodata

global KiApTrampolineStart
global KiApTrampolineEnd

bits 16
KiApTrampolineStart:
    cli
    cld
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    o32 lgdt [TRAMP(ap_gdt_descriptor)]
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    jmp dword AP_CODE32:TRAMP(ap_protected_mode)

bits 32
ap_protected_mode:
    mov ax, AP_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax

    ; Is it us the boot processor is waiting for?
    mov eax, 1
    cpuid
    shr ebx, 24
    cmp ebx, [BLOCK(ApicId)]
    jne ap_park
    xor eax, eax                    ; expected: nobody has decided yet
    mov ecx, KI_AP_CLAIMED
    lock cmpxchg [BLOCK(Claim)], ecx
    jne ap_park                     ; the boot processor abandoned this start

    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, [BLOCK(Pml4)]
    mov cr3, eax
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME | EFER_NXE
    wrmsr
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    jmp AP_CODE64:TRAMP(ap_long_mode)

ap_park:
    cli
    hlt
    jmp ap_park

bits 64
ap_long_mode:
    mov ax, AP_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rsp, [BLOCK(Stack)]
    mov rdi, [BLOCK(Argument)]
    mov rax, [BLOCK(Entry)]
    xor ebp, ebp                    ; end of the frame-pointer chain
    push rbp                        ; a null return address: end of gdb's backtrace
    jmp rax

; The trampoline's GDT: null, 32-bit code, data, 64-bit code. The kernel's
; own GDT replaces it (kernel/cpu.c, KiInitializeProcessorTables).
align 8
ap_gdt:
    dq 0
.code32:
    dq KI_AP_GDT_CODE32
.data:
    dq KI_BOOT_GDT_DATA
.code64:
    dq KI_BOOT_GDT_CODE64
ap_gdt_end:
AP_CODE32 equ ap_gdt.code32 - ap_gdt
AP_DATA   equ ap_gdt.data - ap_gdt
AP_CODE64 equ ap_gdt.code64 - ap_gdt

ap_gdt_descriptor:
    dw ap_gdt_end - ap_gdt - 1
    dd TRAMP(ap_gdt)
KiApTrampolineEnd:

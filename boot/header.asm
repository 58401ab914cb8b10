; header.asm - the multiboot2 header GRUB looks for.
;
; GRUB2 scans the first 32 KiB of the kernel file for this header (8-byte
; aligned, magic 0xE85250D6). The linker script puts section .multiboot first
; in the image. The header asks GRUB for three pieces of information; the
; kernel parses them in kernel/bootinfo.c.
;
; Layout (multiboot2 specification, 3.1.1 and 3.1.4):
;   u32 magic, u32 architecture (0 = 32-bit protected mode i386),
;   u32 header_length, u32 checksum (the four sum to 0 mod 2^32),
;   tags..., end tag (type 0, size 8).

MB2_MAGIC        equ 0xE85250D6
MB2_ARCH_I386    equ 0
MB2_TAG_END      equ 0
MB2_TAG_INFO_REQ equ 1

; Information tag types we request (multiboot2 spec, 3.6).
MB2_INFO_CMDLINE     equ 1
MB2_INFO_LOADER_NAME equ 2
MB2_INFO_MODULES     equ 3
MB2_INFO_MEMORY_MAP  equ 6

section .multiboot
align 8
multiboot2_header:
    dd MB2_MAGIC
    dd MB2_ARCH_I386
    dd multiboot2_header_end - multiboot2_header
    dd -(MB2_MAGIC + MB2_ARCH_I386 + (multiboot2_header_end - multiboot2_header))

    ; Information request: GRUB must provide these or refuse to boot us.
align 8
.info_request:
    dw MB2_TAG_INFO_REQ
    dw 0                            ; flags: 0 = required
    dd .info_request_end - .info_request
    dd MB2_INFO_CMDLINE
    dd MB2_INFO_LOADER_NAME
    dd MB2_INFO_MODULES
    dd MB2_INFO_MEMORY_MAP
.info_request_end:

    ; No framebuffer tag: we keep the VGA text mode (grub.cfg also says
    ; gfxpayload=text), so the console can write to 0xB8000.
align 8
    dw MB2_TAG_END
    dw 0
    dd 8
multiboot2_header_end:

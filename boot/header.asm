; header.asm - the multiboot2 header GRUB looks for.
;
; GRUB2 scans the first 32 KiB of the kernel file for this header (8-byte
; aligned, magic MULTIBOOT2_HEADER_MAGIC). The linker script puts section
; .multiboot first in the image. The header asks GRUB for four pieces of
; information; the kernel parses them in kernel/bootinfo.c. Every number
; comes from include/loader.h through build/gen/asmdefs.inc
; (kernel/x64/asmdefs.c).
;
; Layout (multiboot2 specification, 3.1.1 and 3.1.4):
;   u32 magic, u32 architecture (0 = 32-bit protected mode i386),
;   u32 header_length, u32 checksum (the four sum to 0 mod 2^32),
;   tags..., end tag (type 0, size 8).

%include "asmdefs.inc"

section .multiboot
align MB2_TAG_ALIGNMENT
multiboot2_header:
    dd MULTIBOOT2_HEADER_MAGIC
    dd MULTIBOOT2_ARCHITECTURE_I386
    dd multiboot2_header_end - multiboot2_header
    dd -(MULTIBOOT2_HEADER_MAGIC + MULTIBOOT2_ARCHITECTURE_I386 + (multiboot2_header_end - multiboot2_header))

    ; Information request: GRUB must provide these or refuse to boot us.
align MB2_TAG_ALIGNMENT
.info_request:
    dw MULTIBOOT2_HEADER_TAG_INFORMATION_REQUEST
    dw 0                            ; flags: 0 = required
    dd .info_request_end - .info_request
    dd MB2_TAG_COMMAND_LINE
    dd MB2_TAG_BOOT_LOADER_NAME
    dd MB2_TAG_MODULE
    dd MB2_TAG_MEMORY_MAP
.info_request_end:

    ; No framebuffer tag: we keep the VGA text mode (grub.cfg also says
    ; gfxpayload=text), so the console can write to HAL_VGA_TEXT_PHYSICAL.
align MB2_TAG_ALIGNMENT
.end_tag:
    dw MULTIBOOT2_HEADER_TAG_END
    dw 0                            ; flags
    dd multiboot2_header_end - .end_tag
multiboot2_header_end:

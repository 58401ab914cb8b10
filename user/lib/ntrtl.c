/*
 * ntrtl.c - the counted-string helpers user mode needs to name objects:
 * RtlInitUnicodeString (as ntdll's), and conversions between the ASCII
 * the shell and printf speak and the UTF-16 the object namespace keeps;
 * and opening a device by such a name (PgOpenDevice).
 * InitializeObjectAttributes is a macro (include/ntdef.h).
 */
#include "pagoda.h"

void RtlInitUnicodeString(PUNICODE_STRING String, PCWSTR Source)
{
    SIZE_T Chars = 0;
    if (Source != NULL)
        while (Source[Chars] != 0 && Chars < 0x7FFE)
            Chars++;
    String->Length = (USHORT)(Chars * sizeof(WCHAR));
    String->MaximumLength = Source != NULL ? (USHORT)(String->Length + sizeof(WCHAR)) : 0;
    String->Buffer = (PWSTR)Source;
}

NTSTATUS PgInitUnicodeStringFromAnsi(PUNICODE_STRING String, PWSTR Buffer, ULONG BufferChars,
                                     const char *Ansi)
{
    ULONG Chars = 0;
    while (Ansi[Chars] != '\0') {
        if (Chars + 1 >= BufferChars)
            return STATUS_NAME_TOO_LONG;
        Buffer[Chars] = (UCHAR)Ansi[Chars];
        Chars++;
    }
    Buffer[Chars] = 0;
    String->Length = (USHORT)(Chars * sizeof(WCHAR));
    String->MaximumLength = (USHORT)((Chars + 1) * sizeof(WCHAR));
    String->Buffer = Buffer;
    return STATUS_SUCCESS;
}

char *PgUnicodeToAnsi(PCUNICODE_STRING String, char *Buffer, ULONG Size)
{
    ULONG Chars = String->Length / sizeof(WCHAR), i;
    for (i = 0; i < Chars && i + 1 < Size; i++) {
        WCHAR C = String->Buffer[i];
        Buffer[i] = (C >= 0x20 && C < 0x7F) ? (char)C : '?';
    }
    if (Size > 0)
        Buffer[i] = '\0';
    return Buffer;
}

NTSTATUS PgOpenDevice(PCWSTR Name, ULONG OpenOptions, PHANDLE Handle)
{
    UNICODE_STRING String;
    OBJECT_ATTRIBUTES Attributes;
    IO_STATUS_BLOCK Iosb;
    RtlInitUnicodeString(&String, Name);
    InitializeObjectAttributes(&Attributes, &String, 0, NULL, NULL);
    return NtOpenFile(Handle, FILE_GENERIC_READ | FILE_GENERIC_WRITE, &Attributes, &Iosb,
                      FILE_SHARE_READ | FILE_SHARE_WRITE, OpenOptions);
}

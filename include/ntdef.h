/*
 * ntdef.h - NT base types, shared by the kernel, user mode and host tests.
 *
 * The names follow the Windows DDK so that driver code written from
 * Microsoft's documentation compiles with few changes. Widths are those of
 * 64-bit Windows (LLP64): ULONG is 32 bits, ULONG_PTR and pointers 64.
 */
#ifndef PAGODA_NTDEF_H
#define PAGODA_NTDEF_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

typedef void VOID, *PVOID;
typedef char CHAR, *PCHAR;
typedef const char *PCSTR, *PCCH;
typedef unsigned char UCHAR, *PUCHAR;
typedef int16_t SHORT, *PSHORT;
typedef uint16_t USHORT, *PUSHORT, WCHAR;
typedef int32_t LONG, *PLONG;
typedef uint32_t ULONG, *PULONG;
/* 64-bit types are long long, as Windows' __int64: print them with %ll. */
typedef long long LONG64, LONGLONG, *PLONGLONG;
typedef unsigned long long ULONG64, ULONGLONG, *PULONG64, *PULONGLONG;
typedef long long LONG_PTR;
typedef unsigned long long ULONG_PTR, *PULONG_PTR;
typedef size_t SIZE_T, *PSIZE_T;
typedef UCHAR BOOLEAN, *PBOOLEAN;
typedef LONG NTSTATUS;
typedef PVOID HANDLE, *PHANDLE;
typedef ULONG ACCESS_MASK;
typedef UCHAR KIRQL, *PKIRQL;
typedef ULONG_PTR PFN_NUMBER, *PPFN_NUMBER;

typedef union _LARGE_INTEGER {
    struct {
        ULONG LowPart;
        LONG HighPart;
    };
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef LARGE_INTEGER PHYSICAL_ADDRESS, *PPHYSICAL_ADDRESS;

#define TRUE  ((BOOLEAN)1)
#define FALSE ((BOOLEAN)0)
#ifndef NULL
#define NULL ((void *)0)
#endif

#define IN
#define OUT
#define OPTIONAL

#define NT_SUCCESS(Status) (((NTSTATUS)(Status)) >= 0)

/* Pages: x64 uses 4 KiB pages (Intel SDM Vol. 3A, 4.5). */
#define PAGE_SHIFT 12
#define PAGE_SIZE  ((ULONG_PTR)1 << PAGE_SHIFT)
#define PAGE_ALIGN(Va)  ((PVOID)((ULONG_PTR)(Va) & ~(PAGE_SIZE - 1)))
#define BYTE_OFFSET(Va) ((ULONG)((ULONG_PTR)(Va) & (PAGE_SIZE - 1)))
#define BYTES_TO_PAGES(Size) \
    (((ULONG_PTR)(Size) >> PAGE_SHIFT) + (((ULONG_PTR)(Size) & (PAGE_SIZE - 1)) != 0))
#define ROUND_TO_PAGES(Size) (((ULONG_PTR)(Size) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define ADDRESS_AND_SIZE_TO_SPAN_PAGES(Va, Size) \
    (BYTES_TO_PAGES(BYTE_OFFSET(Va) + (Size)))

#define ALIGN_DOWN_BY(Value, Align) ((ULONG_PTR)(Value) & ~((ULONG_PTR)(Align) - 1))
#define ALIGN_UP_BY(Value, Align) \
    (((ULONG_PTR)(Value) + (ULONG_PTR)(Align) - 1) & ~((ULONG_PTR)(Align) - 1))

#define ARRAYSIZE(A) (sizeof(A) / sizeof((A)[0]))
#define FIELD_OFFSET(Type, Field) ((LONG)offsetof(Type, Field))
#define CONTAINING_RECORD(Address, Type, Field) \
    ((Type *)((PCHAR)(Address) - offsetof(Type, Field)))
#define UNREFERENCED_PARAMETER(P) ((void)(P))

#define STATIC_ASSERT(Expr) _Static_assert(Expr, #Expr)

/* A result the caller must look at, on the declaration of a function that
 * returns a status (or an allocation): ignoring it is a warning, so an
 * error under -Werror. The one spelling in the tree; the WDK's SAL calls it
 * _Must_inspect_result_. */
#define MUST_INSPECT_RESULT __attribute__((warn_unused_result))
/*
 * Course labs (docs/labs/): the staff tree marks each lab's solution with
 *     #if PAGODA_SOLUTION(N) ... solution ... #else ... stub ... #endif
 * and tools/mklab.py turns the markers into a student tree for one lab
 * (solutions of earlier labs kept, stubs from that lab on, markers gone).
 * In the staff tree every solution is compiled.
 */
#define PAGODA_SOLUTION(Lab) 1

/* Build a pool tag from four characters the way drivers write it: 'Tag1'
 * in C is a multi-character constant, so we provide a portable form. */
#define POOL_TAG(a, b, c, d) \
    ((ULONG)(a) | ((ULONG)(b) << 8) | ((ULONG)(c) << 16) | ((ULONG)(d) << 24))

/* Kinds of event, of timer and of multiple-object wait (NT values), here
 * because both the kernel (kernel/ke.h) and user mode (include/ntapi.h)
 * name them. */
typedef enum _EVENT_TYPE { NotificationEvent = 0, SynchronizationEvent = 1 } EVENT_TYPE;
typedef enum _TIMER_TYPE { NotificationTimer = 0, SynchronizationTimer = 1 } TIMER_TYPE;
typedef enum _WAIT_TYPE { WaitAll = 0, WaitAny = 1 } WAIT_TYPE;

/* A thread's identity: its process's ID and its own (NT's CLIENT_ID). The
 * kernel keeps one in each ETHREAD; NtCreateThread returns one to user mode. */
typedef struct _CLIENT_ID {
    HANDLE UniqueProcess;
    HANDLE UniqueThread;
} CLIENT_ID, *PCLIENT_ID;

/* Doubly linked lists, as in the DDK (LIST_ENTRY with a sentinel head). */
typedef struct _LIST_ENTRY {
    struct _LIST_ENTRY *Flink;
    struct _LIST_ENTRY *Blink;
} LIST_ENTRY, *PLIST_ENTRY;

static inline void InitializeListHead(PLIST_ENTRY Head)
{
    Head->Flink = Head->Blink = Head;
}

static inline BOOLEAN IsListEmpty(const LIST_ENTRY *Head)
{
    return Head->Flink == Head;
}

static inline void InsertTailList(PLIST_ENTRY Head, PLIST_ENTRY Entry)
{
    PLIST_ENTRY Last = Head->Blink;
    Entry->Flink = Head;
    Entry->Blink = Last;
    Last->Flink = Entry;
    Head->Blink = Entry;
}

static inline void InsertHeadList(PLIST_ENTRY Head, PLIST_ENTRY Entry)
{
    PLIST_ENTRY First = Head->Flink;
    Entry->Flink = First;
    Entry->Blink = Head;
    First->Blink = Entry;
    Head->Flink = Entry;
}

/* Returns TRUE when the list became empty. */
static inline BOOLEAN RemoveEntryList(PLIST_ENTRY Entry)
{
    PLIST_ENTRY Prev = Entry->Blink, Next = Entry->Flink;
    Prev->Flink = Next;
    Next->Blink = Prev;
    return Prev == Next;
}

static inline PLIST_ENTRY RemoveHeadList(PLIST_ENTRY Head)
{
    PLIST_ENTRY Entry = Head->Flink;
    RemoveEntryList(Entry);
    return Entry;
}

/* ------------------------------------------------------------------------
 * Counted UTF-16 strings and object attributes (NT's ntdef.h layouts)
 * ------------------------------------------------------------------------ */

/* Lengths in bytes, not characters; Buffer need not be NUL-terminated. */
typedef struct _UNICODE_STRING {
    USHORT Length;                  /* bytes in use */
    USHORT MaximumLength;           /* bytes of Buffer */
    WCHAR *Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;
typedef WCHAR *PWSTR;
typedef const WCHAR *PCWSTR;

/* A UNICODE_STRING for a u"..." literal (gcc's char16_t is WCHAR's type). */
#define RTL_CONSTANT_STRING(s) {sizeof(s) - sizeof((s)[0]), sizeof(s), (PWSTR)(s)}

/* Attributes (OBJECT_ATTRIBUTES.Attributes; handle attributes use the
 * same bits). */
#define OBJ_INHERIT             0x00000002L  /* the handle is copied into children */
#define OBJ_PERMANENT           0x00000010L  /* the name outlives the last handle */
#define OBJ_EXCLUSIVE           0x00000020L  /* accepted; no other opener is refused */
#define OBJ_CASE_INSENSITIVE    0x00000040L  /* names compare without case (ASCII letters) */
#define OBJ_OPENIF              0x00000080L  /* create: open the existing object instead */
#define OBJ_OPENLINK            0x00000100L  /* a final symbolic link is the object itself */
#define OBJ_KERNEL_HANDLE       0x00000200L  /* kernel callers: into the kernel handle table */
#define OBJ_FORCE_ACCESS_CHECK  0x00000400L  /* accepted; there is nothing more to check */
#define OBJ_VALID_ATTRIBUTES    0x000007F2L

typedef struct _OBJECT_ATTRIBUTES {
    ULONG Length;                   /* sizeof(OBJECT_ATTRIBUTES) */
    HANDLE RootDirectory;           /* a directory ObjectName is relative to, or NULL */
    PUNICODE_STRING ObjectName;     /* NULL: no name */
    ULONG Attributes;               /* OBJ_* */
    PVOID SecurityDescriptor;       /* accepted, not used (no security model yet) */
    PVOID SecurityQualityOfService; /* idem */
} OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES;
STATIC_ASSERT(sizeof(OBJECT_ATTRIBUTES) == 48);
STATIC_ASSERT(offsetof(OBJECT_ATTRIBUTES, ObjectName) == 16);

#define InitializeObjectAttributes(p, n, a, r, s) \
    do {                                           \
        (p)->Length = sizeof(OBJECT_ATTRIBUTES);   \
        (p)->RootDirectory = (r);                  \
        (p)->Attributes = (a);                     \
        (p)->ObjectName = (n);                     \
        (p)->SecurityDescriptor = (s);             \
        (p)->SecurityQualityOfService = NULL;      \
    } while (0)

/* Access rights every object type shares (winnt.h). Spelled as ex/event.c
 * spelled them before they moved here, so an identical definition elsewhere
 * stays legal C. */
#define DELETE                   0x00010000u
#define READ_CONTROL             0x00020000u
#define STANDARD_RIGHTS_REQUIRED 0x000F0000u
#define STANDARD_RIGHTS_READ     0x00020000u
#ifndef SYNCHRONIZE
#define SYNCHRONIZE              0x00100000
#endif
#define MAXIMUM_ALLOWED          0x02000000u
#define GENERIC_READ             0x80000000u
#define GENERIC_WRITE            0x40000000u
#define GENERIC_EXECUTE          0x20000000u
#define GENERIC_ALL              0x10000000u

#endif /* PAGODA_NTDEF_H */

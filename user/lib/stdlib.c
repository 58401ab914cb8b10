/*
 * stdlib.c - numbers, strings and the heap.
 *
 * The heap: memory comes from NtAllocateVirtualMemory in chunks of 64 KiB
 * (the allocation granularity) or the request rounded up to it. Every block
 * has a 16-byte header holding its total size; free blocks are kept on one
 * list sorted by address, first fit, split on allocation and merged with
 * their neighbours on free. Chunks are never given back. Single-threaded.
 */
#include "pagoda.h"

/* ---------------------------------------------------------------- numbers */
int isspace(int C)
{
    return C == ' ' || C == '\t' || C == '\n' || C == '\r' || C == '\f' || C == '\v';
}

int isdigit(int C)
{
    return C >= '0' && C <= '9';
}

static int PgpDigit(int C)
{
    if (C >= '0' && C <= '9')
        return C - '0';
    if (C >= 'a' && C <= 'z')
        return C - 'a' + 10;
    if (C >= 'A' && C <= 'Z')
        return C - 'A' + 10;
    return 99;
}

unsigned long long strtoull(const char *S, char **End, int Base)
{
    unsigned long long Value = 0;
    BOOLEAN Negative = FALSE;
    const char *Start;

    while (isspace(*S))
        S++;
    if (*S == '+' || *S == '-')
        Negative = *S++ == '-';
    if ((Base == 0 || Base == 16) && S[0] == '0' && (S[1] == 'x' || S[1] == 'X') &&
        PgpDigit(S[2]) < 16) {
        S += 2;
        Base = 16;
    } else if (Base == 0) {
        Base = S[0] == '0' ? 8 : 10;
    }
    Start = S;
    while (PgpDigit(*S) < Base)
        Value = Value * (unsigned)Base + (unsigned)PgpDigit(*S++);
    if (End)
        *End = (char *)(S == Start ? Start : S);
    return Negative ? -Value : Value;
}

long long strtoll(const char *S, char **End, int Base)
{
    return (long long)strtoull(S, End, Base);
}

long long atoll(const char *S)
{
    return strtoll(S, NULL, 10);
}

int atoi(const char *S)
{
    return (int)strtoll(S, NULL, 10);
}

/* ---------------------------------------------------------------- strings */
char *strcpy(char *Dest, const char *Src)
{
    memcpy(Dest, Src, strlen(Src) + 1);
    return Dest;
}

char *strrchr(const char *S, int C)
{
    const char *Last = NULL;
    do {
        if (*S == (char)C)
            Last = S;
    } while (*S++);
    return (char *)Last;
}

char *strdup(const char *S)
{
    size_t Length = strlen(S) + 1;
    char *Copy = malloc(Length);
    if (Copy)
        memcpy(Copy, S, Length);
    return Copy;
}

/* Insertion sort: the shell sorts tens of entries, not millions. */
void qsort(void *Base, size_t Count, size_t Size, int (*Compare)(const void *, const void *))
{
    char *A = Base;
    char Temp[256];
    size_t I, J;

    if (Size > sizeof(Temp))
        return;
    for (I = 1; I < Count; I++) {
        memcpy(Temp, A + I * Size, Size);
        for (J = I; J > 0 && Compare(A + (J - 1) * Size, Temp) > 0; J--)
            memcpy(A + J * Size, A + (J - 1) * Size, Size);
        memcpy(A + J * Size, Temp, Size);
    }
}

/* ---------------------------------------------------------------- heap */
typedef struct _PGP_BLOCK {
    size_t Size;                /* whole block, header included; multiple of 16 */
    struct _PGP_BLOCK *Next;    /* free list link (free blocks only) */
} PGP_BLOCK;
STATIC_ASSERT(sizeof(PGP_BLOCK) == 16);

#define PGP_HEADER sizeof(PGP_BLOCK)
#define PGP_CHUNK  MM_ALLOCATION_GRANULARITY

static PGP_BLOCK *PgpFreeList;

/* Put Block on the free list in address order and merge it with its neighbours. */
static void PgpInsertFree(PGP_BLOCK *Block)
{
    PGP_BLOCK **Link = &PgpFreeList;
    PGP_BLOCK *Prev = NULL;

    while (*Link && *Link < Block) {
        Prev = *Link;
        Link = &(*Link)->Next;
    }
    Block->Next = *Link;
    *Link = Block;
    if (Block->Next && (char *)Block + Block->Size == (char *)Block->Next) {
        Block->Size += Block->Next->Size;
        Block->Next = Block->Next->Next;
    }
    if (Prev && (char *)Prev + Prev->Size == (char *)Block) {
        Prev->Size += Block->Size;
        Prev->Next = Block->Next;
    }
}

static BOOLEAN PgpGrow(size_t Need)
{
    PVOID Base = NULL;
    SIZE_T Size = ALIGN_UP_BY(Need, PGP_CHUNK);
    PGP_BLOCK *Block;

    if (!NT_SUCCESS(NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
                                            MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE)))
        return FALSE;
    Block = Base;
    Block->Size = Size;
    PgpInsertFree(Block);
    return TRUE;
}

void *malloc(size_t Size)
{
    size_t Need;
    PGP_BLOCK **Link;

    if (Size > ((size_t)1 << 40))
        return NULL;
    Need = ALIGN_UP_BY(Size + PGP_HEADER, 16);
    for (int Attempt = 0; Attempt < 2; Attempt++) {
        for (Link = &PgpFreeList; *Link; Link = &(*Link)->Next) {
            PGP_BLOCK *Block = *Link;
            if (Block->Size < Need)
                continue;
            if (Block->Size - Need >= 2 * PGP_HEADER) {
                PGP_BLOCK *Rest = (PGP_BLOCK *)((char *)Block + Need);
                Rest->Size = Block->Size - Need;
                Rest->Next = Block->Next;
                *Link = Rest;
                Block->Size = Need;
            } else {
                *Link = Block->Next;
            }
            Block->Next = NULL;
            return Block + 1;
        }
        if (!PgpGrow(Need))
            return NULL;
    }
    return NULL;
}

void free(void *Ptr)
{
    if (Ptr)
        PgpInsertFree((PGP_BLOCK *)Ptr - 1);
}

void *calloc(size_t Count, size_t Size)
{
    void *P;
    if (Size && Count > ((size_t)1 << 40) / Size)
        return NULL;
    P = malloc(Count * Size);
    if (P)
        memset(P, 0, Count * Size);
    return P;
}

void *realloc(void *Ptr, size_t Size)
{
    PGP_BLOCK *Block;
    void *New;

    if (!Ptr)
        return malloc(Size);
    Block = (PGP_BLOCK *)Ptr - 1;
    if (Block->Size - PGP_HEADER >= Size)
        return Ptr;
    New = malloc(Size);
    if (New) {
        memcpy(New, Ptr, Block->Size - PGP_HEADER);
        free(Ptr);
    }
    return New;
}

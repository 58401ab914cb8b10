/*
 * ntdddelay.h - the interface of \Device\Delay (drivers/delay/delay.c), the
 * teaching driver for "a driver runs in an arbitrary thread context".
 * Shared by the driver, user programs (/bin/iodemo) and the tests, in the
 * way NT's ntddXXX.h headers describe a device's control codes.
 *
 * Every read the device gets pends; a timer's DPC completes it later, in
 * whatever thread the processor happens to be running then. The three read
 * control codes differ only in their transfer method, so they show the
 * three ways a driver can reach the requester's buffer from that DPC:
 *
 *   IOCTL_DELAY_READ_NEITHER   METHOD_NEITHER: the driver writes the
 *                              requester's virtual address from the DPC -
 *                              the naive way, wrong whenever another
 *                              process is current
 *   IOCTL_DELAY_READ_BUFFERED  METHOD_BUFFERED: the driver fills a system
 *                              buffer; the I/O manager copies it out in the
 *                              requester's own thread
 *   IOCTL_DELAY_READ_DIRECT    METHOD_OUT_DIRECT: the driver writes the
 *                              requester's locked pages through an MDL
 *                              mapping in system space
 *
 * The driver logs every completion (who asked, who was current, what
 * happened to the data); IOCTL_DELAY_GET_LOG returns the log.
 */
#ifndef PAGODA_NTDDDELAY_H
#define PAGODA_NTDDDELAY_H

#include "ntapi.h" /* CTL_CODE, METHOD_* */

#define DELAY_DEVICE_NAME u"\\Device\\Delay"
#define DELAY_DOS_NAME    u"\\??\\Delay"

#define FILE_DEVICE_DELAY 0x00000022 /* FILE_DEVICE_UNKNOWN */

/* Output: at least sizeof(DELAY_PAYLOAD) bytes, filled as below. */
#define IOCTL_DELAY_READ_NEITHER CTL_CODE(FILE_DEVICE_DELAY, 0x800, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_DELAY_READ_BUFFERED \
    CTL_CODE(FILE_DEVICE_DELAY, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_DELAY_READ_DIRECT \
    CTL_CODE(FILE_DEVICE_DELAY, 0x802, METHOD_OUT_DIRECT, FILE_ANY_ACCESS)
/* Input: a ULONG, the first sequence number wanted. Output: a DELAY_LOG. */
#define IOCTL_DELAY_GET_LOG CTL_CODE(FILE_DEVICE_DELAY, 0x803, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Input: a ULONG, the delay in milliseconds (1-1000) for later reads. */
#define IOCTL_DELAY_SET_DELAY CTL_CODE(FILE_DEVICE_DELAY, 0x804, METHOD_BUFFERED, FILE_ANY_ACCESS)

#define DELAY_PAYLOAD_MAGIC 0x59414C44u /* "DLAY" */

/*
 * What a completed read delivers: this header, then the rest of the output
 * buffer filled with the low byte of Sequence, so a reader can check every
 * byte it was given.
 */
typedef struct _DELAY_PAYLOAD {
    ULONG Magic;          /* DELAY_PAYLOAD_MAGIC */
    ULONG Sequence;       /* the request's number, from 1 */
    ULONG RequesterPid;   /* the process that asked */
    ULONG CompletingPid;  /* the process current when the DPC ran */
} DELAY_PAYLOAD;

typedef enum _DELAY_OUTCOME {
    DelayDeliveredInRequester = 1, /* NEITHER: the requester happened to be current */
    DelayLandedInOtherProcess = 2, /* NEITHER: written at the same address in another process */
    DelayWouldHaveFaulted = 3,     /* NEITHER: not mapped there; a real driver bugchecks (0xD1) */
    DelayDeliveredBySystemBuffer = 4, /* BUFFERED */
    DelayDeliveredByMdl = 5,       /* DIRECT */
    DelayCancelled = 6,
} DELAY_OUTCOME;

typedef struct _DELAY_LOG_ENTRY {
    ULONG Sequence;
    ULONG IoControlCode;
    ULONG RequesterPid;
    ULONG CompletingPid;
    ULONG Outcome;        /* DELAY_OUTCOME */
    ULONG Length;         /* output buffer length */
    ULONG64 UserBuffer;   /* the requester's output address */
    CHAR CompletingImage[16]; /* the current process's image name */
} DELAY_LOG_ENTRY;

#define DELAY_LOG_ENTRIES 32

typedef struct _DELAY_LOG {
    ULONG Count;          /* entries below, oldest first */
    ULONG NextSequence;   /* the number the next request will get */
    DELAY_LOG_ENTRY Entries[DELAY_LOG_ENTRIES];
} DELAY_LOG;

#endif /* PAGODA_NTDDDELAY_H */

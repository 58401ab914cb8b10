/*
 * iotest.h - the controls of the I/O test driver, \Device\IoTest
 * (io/drivers/iotest.c), shared by the driver, the ring-3 tests
 * (user/tests/test_io.c) and the benchmarks (user/bin/ubench.c).
 *
 * \Device\IoTest is a buffered device. A read pends until a
 * IOCTL_IOTEST_COMPLETE_READS completes it (or it is cancelled); a write
 * completes at once with every byte "written".
 */
#ifndef PAGODA_IOTEST_H
#define PAGODA_IOTEST_H

#define FILE_DEVICE_IOTEST 0x8000   /* the range of device types left to vendors */

/* METHOD_BUFFERED: the output gets the input (min of the two lengths,
 * Information); completes at once. */
#define IOCTL_IOTEST_ECHO \
    CTL_CODE(FILE_DEVICE_IOTEST, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* METHOD_BUFFERED: complete every pending read with the input: an
 * IOTEST_COMPLETION, then the data. Each read gets its system buffer
 * filled with 0xEE and then up to Length bytes of data in front, and
 * Information = the data's bytes it took. Output (optional): a ULONG,
 * how many reads were completed. */
#define IOCTL_IOTEST_COMPLETE_READS \
    CTL_CODE(FILE_DEVICE_IOTEST, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* METHOD_BUFFERED: output a ULONG, the reads pending now. */
#define IOCTL_IOTEST_PENDING_READS \
    CTL_CODE(FILE_DEVICE_IOTEST, 0x802, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* METHOD_OUT_DIRECT: the output buffer, locked and mapped through its MDL,
 * is filled with the input's first byte; Information = its length. */
#define IOCTL_IOTEST_FILL_DIRECT \
    CTL_CODE(FILE_DEVICE_IOTEST, 0x803, METHOD_OUT_DIRECT, FILE_ANY_ACCESS)
/* METHOD_IN_DIRECT: Information = the sum of the output buffer's bytes,
 * read through its MDL. */
#define IOCTL_IOTEST_SUM_DIRECT \
    CTL_CODE(FILE_DEVICE_IOTEST, 0x804, METHOD_IN_DIRECT, FILE_ANY_ACCESS)
/* METHOD_NEITHER: the driver copies the input to the output itself, in
 * the caller's thread, through the user pointers (probed and copied with
 * fault recovery: a bad pointer is STATUS_ACCESS_VIOLATION). */
#define IOCTL_IOTEST_COPY_NEITHER \
    CTL_CODE(FILE_DEVICE_IOTEST, 0x805, METHOD_NEITHER, FILE_ANY_ACCESS)

typedef struct _IOTEST_COMPLETION {
    LONG Status;                    /* the NTSTATUS the reads complete with */
    ULONG Reserved;
} IOTEST_COMPLETION;

#endif /* PAGODA_IOTEST_H */

/*
 * share.c - share access (NT's IoCheckShareAccess, IoSetShareAccess,
 * IoUpdateShareAccess, IoRemoveShareAccess): who may open a device while
 * others have it open.
 *
 * On NT the I/O manager does not enforce share access by itself: a driver
 * that cares keeps a SHARE_ACCESS per device (or per file, for a file
 * system) and asks at each IRP_MJ_CREATE, with the access and the share
 * mode the opener passed (Parameters.Create.SecurityContext->DesiredAccess,
 * Parameters.Create.ShareAccess):
 *
 *   SHARE_ACCESS      OpenCount  opens that asked for read, write or delete
 *                     Readers / Writers / Deleters    how many of them want each
 *                     SharedRead / SharedWrite / SharedDelete
 *                                how many of them let others do each
 *
 * A new open conflicts when it wants an access that not every open shares
 * (ReadAccess and SharedRead < OpenCount), or does not share an access
 * that some open has (Readers != 0 and it does not share read): then
 * STATUS_SHARING_VIOLATION. An open that asks for none of read, write and
 * delete (attributes, SYNCHRONIZE) is not counted and never conflicts.
 * The driver takes the open out again with IoRemoveShareAccess at
 * IRP_MJ_CLEANUP (the last handle of that file closed).
 *
 * The routines only compute: the driver serializes them with a lock of
 * its own (io/drivers/iotest.c uses its spin lock). Any IRQL <=
 * DISPATCH_LEVEL.
 */
#include "iop.h"

/* What an open with Access and Share asks for, in the file object's
 * fields (NT sets them here, where the decision is made). TRUE when it
 * asks for read, write or delete at all. */
static BOOLEAN IopRecordShareAccess(ACCESS_MASK Access, ULONG Share, PFILE_OBJECT File)
{
    File->ReadAccess = (Access & (FILE_READ_DATA | FILE_EXECUTE)) != 0;
    File->WriteAccess = (Access & (FILE_WRITE_DATA | FILE_APPEND_DATA)) != 0;
    File->DeleteAccess = (Access & DELETE) != 0;
    if (!File->ReadAccess && !File->WriteAccess && !File->DeleteAccess)
        return FALSE;
    File->SharedRead = (Share & FILE_SHARE_READ) != 0;
    File->SharedWrite = (Share & FILE_SHARE_WRITE) != 0;
    File->SharedDelete = (Share & FILE_SHARE_DELETE) != 0;
    return TRUE;
}

static BOOLEAN IopCountsShareAccess(PFILE_OBJECT File)
{
    return File->ReadAccess || File->WriteAccess || File->DeleteAccess;
}

/* Add (Delta 1) or take out (-1) File's open in ShareAccess. */
static void IopAdjustShareAccess(PFILE_OBJECT File, PSHARE_ACCESS ShareAccess, LONG Delta)
{
    ShareAccess->OpenCount += Delta;
    ShareAccess->Readers += File->ReadAccess ? Delta : 0;
    ShareAccess->Writers += File->WriteAccess ? Delta : 0;
    ShareAccess->Deleters += File->DeleteAccess ? Delta : 0;
    ShareAccess->SharedRead += File->SharedRead ? Delta : 0;
    ShareAccess->SharedWrite += File->SharedWrite ? Delta : 0;
    ShareAccess->SharedDelete += File->SharedDelete ? Delta : 0;
}

/* IoCheckShareAccess: the contract is in io/io.h. */
NTSTATUS IoCheckShareAccess(ACCESS_MASK DesiredAccess, ULONG DesiredShareAccess,
                            PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess, BOOLEAN Update)
{
    if (!IopRecordShareAccess(DesiredAccess, DesiredShareAccess, FileObject))
        return STATUS_SUCCESS;
    ULONG Open = ShareAccess->OpenCount;
    if ((FileObject->ReadAccess && ShareAccess->SharedRead < Open) ||
        (FileObject->WriteAccess && ShareAccess->SharedWrite < Open) ||
        (FileObject->DeleteAccess && ShareAccess->SharedDelete < Open) ||
        (ShareAccess->Readers != 0 && !FileObject->SharedRead) ||
        (ShareAccess->Writers != 0 && !FileObject->SharedWrite) ||
        (ShareAccess->Deleters != 0 && !FileObject->SharedDelete))
        return STATUS_SHARING_VIOLATION;
    if (Update)
        IopAdjustShareAccess(FileObject, ShareAccess, 1);
    return STATUS_SUCCESS;
}

/* IoSetShareAccess: the contract is in io/io.h. */
void IoSetShareAccess(ACCESS_MASK DesiredAccess, ULONG DesiredShareAccess, PFILE_OBJECT FileObject,
                      PSHARE_ACCESS ShareAccess)
{
    *ShareAccess = (SHARE_ACCESS){0};
    if (IopRecordShareAccess(DesiredAccess, DesiredShareAccess, FileObject))
        IopAdjustShareAccess(FileObject, ShareAccess, 1);
}

/* IoUpdateShareAccess: the contract is in io/io.h. */
void IoUpdateShareAccess(PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess)
{
    if (IopCountsShareAccess(FileObject))
        IopAdjustShareAccess(FileObject, ShareAccess, 1);
}

/* IoRemoveShareAccess: the contract is in io/io.h. */
void IoRemoveShareAccess(PFILE_OBJECT FileObject, PSHARE_ACCESS ShareAccess)
{
    if (IopCountsShareAccess(FileObject) && ShareAccess->OpenCount != 0)
        IopAdjustShareAccess(FileObject, ShareAccess, -1);
}

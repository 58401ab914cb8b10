/*
 * ex.h - the executive's object types (Ex): the Event, Mutant, Semaphore
 * and Timer objects that NtCreateEvent & co. hand out, and the routine
 * that registers the executive's types with the object manager at boot;
 * and rundown protection (EX_RUNDOWN_REF, ex/rundown.c).
 *
 * The system services themselves (ex/event.c, ex/sysinfo.c, and those of
 * the other components) are declared in include/ntapi.h, which user mode
 * shares.
 */
#ifndef PAGODA_EX_H
#define PAGODA_EX_H

#include "../ob/ob.h"

/* "Event": an object whose body is a KEVENT. Handles to it come from
 * NtCreateEvent; every KEVENT routine works on the body. */
extern POBJECT_TYPE ExEventObjectType;

/* "Mutant", "Semaphore", "Timer": objects whose bodies are a KMUTANT, a
 * KSEMAPHORE, a KTIMER (ex/mutant.c, ex/semaphore.c, ex/timer.c). */
extern POBJECT_TYPE ExMutantObjectType;
extern POBJECT_TYPE ExSemaphoreObjectType;
extern POBJECT_TYPE ExTimerObjectType;

/* Event access rights (NT's winnt.h values). */
#define EVENT_QUERY_STATE  0x0001
#define EVENT_MODIFY_STATE 0x0002
#ifndef SYNCHRONIZE
#define SYNCHRONIZE        0x00100000
#endif

/*
 * Register the executive's object types (Event, Mutant, Semaphore, Timer)
 * with the object manager.
 * Call once at boot, after the pools exist and before the first system
 * service can run (a second call does nothing). IRQL PASSIVE_LEVEL.
 */
void ExpInitializeExecutiveObjects(void);

/* ------------------------------------------------------------------------
 * Rundown protection (ex/rundown.c), NT's EX_RUNDOWN_REF: guards something
 * that will be torn down once (a process's handle table and address
 * space, EPROCESS.RundownProtect). Users acquire before they touch it and
 * release after; the one that tears it down first waits until every
 * holder has released, and from then on acquiring fails.
 * ------------------------------------------------------------------------ */
typedef struct _EX_RUNDOWN_REF {
    volatile ULONG_PTR Count;       /* holders * 2; bit 0 (EX_RUNDOWN_ACTIVE): run down */
    PKEVENT volatile Waiter;        /* the waiting rundown's event, set before bit 0 */
} EX_RUNDOWN_REF, *PEX_RUNDOWN_REF;

#define EX_RUNDOWN_ACTIVE 0x1

/* No holders, not run down. Any IRQL; the caller owns Ref. */
void ExInitializeRundownProtection(PEX_RUNDOWN_REF Ref);
/* One more holder: TRUE, or FALSE (nothing changed) once the rundown has
 * begun. Release with ExReleaseRundownProtection. IRQL <= DISPATCH_LEVEL;
 * never blocks. */
BOOLEAN ExAcquireRundownProtection(PEX_RUNDOWN_REF Ref);
/* One holder fewer; the last one during a rundown wakes its waiter.
 * IRQL <= DISPATCH_LEVEL. */
void ExReleaseRundownProtection(PEX_RUNDOWN_REF Ref);
/* Begin the rundown (every later acquire fails) and return once every
 * holder has released. Once per Ref. IRQL < DISPATCH_LEVEL; may block. */
void ExWaitForRundownProtectionRelease(PEX_RUNDOWN_REF Ref);

#endif /* PAGODA_EX_H */

/*
 * ex.h - the executive's object types (Ex): the Event, Mutant, Semaphore
 * and Timer objects that NtCreateEvent & co. hand out, and the routine
 * that registers the executive's types with the object manager at boot.
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

#endif /* PAGODA_EX_H */

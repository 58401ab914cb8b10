/*
 * prodcons sync|notify [CONSUMERS] [ROUNDS] - producer and consumers in
 * separate processes, woken through one event.
 *
 *   sync    a SynchronizationEvent: each NtSetEvent releases exactly one
 *           waiting consumer and the event resets itself.
 *   notify  a NotificationEvent: NtPulseEvent releases every consumer
 *           waiting at that moment, then resets the event.
 *
 * The parent creates the work event and a "stop" notification event,
 * starts each consumer ("prodcons consumer K") and duplicates both events
 * into it with NtDuplicateObject; the consumer finds them in its handle
 * table (PgFindDuplicatedHandles). (Inheritance works too, for events
 * created with OBJ_INHERIT in their attributes and children created with
 * CREATE_PROCESS_INHERIT_HANDLES; and so do names, NtOpenEvent on
 * "\BaseNamedObjects\..."; this demo shows duplication across processes.)
 * Each consumer waits for either (NtWaitForMultipleObjects, WaitAny),
 * prints who woke when, and exits with the number of times it woke.
 */
#include "pagoda.h"

#define MAX_CONSUMERS 8

static int Consumer(int Index, HANDLE Work, HANDLE Stop)
{
    HANDLE Handles[2] = {Work, Stop};
    int Wakes = 0;

    printf("consumer %d (pid %u): waiting\n", Index, PgCurrentProcessId());
    for (;;) {
        NTSTATUS Status = NtWaitForMultipleObjects(2, Handles, WaitAny, FALSE, NULL);
        if (Status == STATUS_WAIT_0) {
            Wakes++;
            printf("consumer %d (pid %u): woke at tick %llu (wake %d)\n", Index,
                   PgCurrentProcessId(), PgTickCount(), Wakes);
        } else if (Status == STATUS_WAIT_0 + 1) {
            break;
        } else {
            printf("consumer %d: wait failed: 0x%x\n", Index, (ULONG)Status);
            return -1;
        }
    }
    return Wakes;
}

int main(int Argc, char **Argv, char **Envp)
{
    HANDLE Work, Stop, Process[MAX_CONSUMERS];
    EVENT_TYPE Type;
    int Consumers = 3, Rounds = 4, Total = 0;
    char Line[96];
    NTSTATUS Status;
    UNREFERENCED_PARAMETER(Envp);

    if (Argc == 3 && !strcmp(Argv[1], "consumer")) {
        HANDLE Found[2];
        if (PgFindDuplicatedHandles(Found, 2, 5000) != 2) {
            printf("consumer %s: the producer's events never arrived\n", Argv[2]);
            return -1;
        }
        return Consumer(atoi(Argv[2]), Found[0], Found[1]);
    }
    if (Argc < 2 || (strcmp(Argv[1], "sync") && strcmp(Argv[1], "notify"))) {
        printf("usage: prodcons sync|notify [CONSUMERS] [ROUNDS]\n");
        return 2;
    }
    Type = !strcmp(Argv[1], "sync") ? SynchronizationEvent : NotificationEvent;
    if (Argc > 2)
        Consumers = atoi(Argv[2]);
    if (Argc > 3)
        Rounds = atoi(Argv[3]);
    if (Consumers < 1 || Consumers > MAX_CONSUMERS)
        Consumers = 3;

    Status = NtCreateEvent(&Work, EVENT_ALL_ACCESS, NULL, Type, FALSE);
    if (NT_SUCCESS(Status))
        Status = NtCreateEvent(&Stop, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE);
    if (!NT_SUCCESS(Status)) {
        printf("prodcons: NtCreateEvent failed: 0x%x\n", (ULONG)Status);
        return 1;
    }
    printf("producer (pid %u): %s event, %d consumers, %d rounds\n", PgCurrentProcessId(),
           Type == SynchronizationEvent ? "synchronization" : "notification", Consumers,
           Rounds);
    for (int I = 0; I < Consumers; I++) {
        snprintf(Line, sizeof(Line), "prodcons consumer %d", I);
        Status = PgSpawn("/bin/prodcons", Line, 0, &Process[I], NULL);
        if (NT_SUCCESS(Status))
            Status = NtDuplicateObject(NtCurrentProcess(), Work, Process[I], NULL, 0,
                                       DUPLICATE_SAME_ACCESS);
        if (NT_SUCCESS(Status))
            Status = NtDuplicateObject(NtCurrentProcess(), Stop, Process[I], NULL, 0,
                                       DUPLICATE_SAME_ACCESS);
        if (!NT_SUCCESS(Status)) {
            printf("prodcons: cannot start consumer %d: 0x%x\n", I, (ULONG)Status);
            Consumers = I;
            break;
        }
    }
    PgSleep(300); /* let every consumer reach its wait */
    for (int R = 0; R < Rounds; R++) {
        printf("producer: round %d at tick %llu: %s\n", R, PgTickCount(),
               Type == SynchronizationEvent ? "NtSetEvent (one consumer)"
                                            : "NtPulseEvent (all waiting consumers)");
        Status = Type == SynchronizationEvent ? NtSetEvent(Work, NULL) : NtPulseEvent(Work, NULL);
        if (!NT_SUCCESS(Status))
            printf("producer: signalling failed: 0x%x\n", (ULONG)Status);
        PgSleep(200);
    }
    NtSetEvent(Stop, NULL);
    for (int I = 0; I < Consumers; I++) {
        NTSTATUS Exit = 0;
        if (NT_SUCCESS(PgWaitProcess(Process[I], &Exit))) {
            printf("consumer %d woke %d times\n", I, (int)Exit);
            Total += (int)Exit;
        }
        NtClose(Process[I]);
    }
    printf("producer: %d wakes in all for %d rounds (%s)\n", Total, Rounds,
           Type == SynchronizationEvent ? "expected: one per round"
                                        : "expected: one per round per consumer");
    NtClose(Work);
    NtClose(Stop);
    return 0;
}

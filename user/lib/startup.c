/*
 * startup.c - from the kernel's PROCESS_PARAMETERS to main(argc, argv, envp).
 *
 * crt0.S calls PgStartup with the parameters the kernel put in RDI. It
 * first registers the runtime's user APC dispatcher (user/lib/apc.c). The
 * command line is split at blanks; double quotes group words ("a b" is one
 * argument) and are removed. argv and envp live in malloc'd memory and end
 * with NULL, as in C. When main returns, its value becomes the exit status.
 */
#include "pagoda.h"

PPROCESS_PARAMETERS PgProcessParameters;

int main(int Argc, char **Argv, char **Envp);

/* Split Line into words in place-independent storage; returns argc. */
static int PgpSplitCommandLine(const char *Line, char ***ArgvOut)
{
    size_t Length = Line ? strlen(Line) : 0;
    char *Copy = malloc(Length + 1);
    char **Argv = malloc(sizeof(char *) * (Length / 2 + 2));
    int Argc = 0;
    const char *In = Line;
    char *Out = Copy;

    if (!Copy || !Argv) {
        *ArgvOut = NULL;
        return 0;
    }
    while (In && *In) {
        BOOLEAN Quoted = FALSE;
        while (*In == ' ' || *In == '\t')
            In++;
        if (!*In)
            break;
        Argv[Argc++] = Out;
        while (*In && (Quoted || (*In != ' ' && *In != '\t'))) {
            if (*In == '"')
                Quoted = !Quoted;
            else
                *Out++ = *In;
            In++;
        }
        *Out++ = '\0';
    }
    Argv[Argc] = NULL;
    *ArgvOut = Argv;
    return Argc;
}

static char **PgpSplitEnvironment(const char *Env)
{
    size_t Count = 0;
    const char *P;
    char **Envp;

    for (P = Env; P && *P; P += strlen(P) + 1)
        Count++;
    Envp = malloc(sizeof(char *) * (Count + 1));
    if (!Envp)
        return NULL;
    Count = 0;
    for (P = Env; P && *P; P += strlen(P) + 1)
        Envp[Count++] = (char *)P;
    Envp[Count] = NULL;
    return Envp;
}

__attribute__((noreturn, used)) void PgStartup(PPROCESS_PARAMETERS Parameters)
{
    char **Argv;
    char **Envp;
    int Argc;

    PgProcessParameters = Parameters;
    (void)NtRegisterUserApcDispatcher((PVOID)PgUserApcDispatcher);
    Argc = PgpSplitCommandLine(Parameters->CommandLine ? Parameters->CommandLine
                                                       : Parameters->ImagePathName,
                               &Argv);
    Envp = PgpSplitEnvironment(Parameters->Environment);
    /* Without its arguments a program would do something else than it was
     * asked to (usertests would run the whole suite instead of one child's
     * task): fail as the process, as Windows' runtime does. */
    if (Argv == NULL || Envp == NULL)
        exit((int)STATUS_NO_MEMORY);
    exit(main(Argc, Argv, Envp));
}

void exit(int Status)
{
    fflush_stdout();
    for (;;)
        NtTerminateProcess(NtCurrentProcess(), (NTSTATUS)Status);
}

void abort(void)
{
    exit((int)STATUS_UNSUCCESSFUL);
}

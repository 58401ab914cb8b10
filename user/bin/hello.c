/*
 * hello - the smallest useful program: prints its process id and arguments.
 */
#include "pagoda.h"

int main(int Argc, char **Argv, char **Envp)
{
    UNREFERENCED_PARAMETER(Envp);
    printf("hello from pid %u (%s)\n", PgCurrentProcessId(), PgProcessParameters->ImagePathName);
    for (int I = 0; I < Argc; I++)
        printf("  argv[%d] = \"%s\"\n", I, Argv[I]);
    return 0;
}

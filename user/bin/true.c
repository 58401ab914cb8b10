/*
 * true - does nothing and exits with 0 (or with the status given as its
 * first argument): the cheapest process, for create/reap tests.
 */
#include "pagoda.h"

int main(int Argc, char **Argv, char **Envp)
{
    UNREFERENCED_PARAMETER(Envp);
    return Argc > 1 ? (int)strtoull(Argv[1], NULL, 0) : 0;
}

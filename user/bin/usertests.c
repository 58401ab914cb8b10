/*
 * usertests [--short] [FILTER] - the ring-3 tests: every system service
 * with good and bad arguments, handles, address-space isolation, events
 * across processes, crashes and resource reclamation. Tests are in
 * user/tests/, one file per service family; the framework is
 * user/tests/runner.c. Exits with 0 when all passed, 1 otherwise.
 *
 * "usertests --child MODE ARGS" is a helper process the tests start
 * (user/tests/runner.c, UtChildMain).
 */
#include "../tests/ut.h"

int UtMain(int Argc, char **Argv);

int main(int Argc, char **Argv, char **Envp)
{
    UNREFERENCED_PARAMETER(Envp);
    if (Argc >= 2 && !strcmp(Argv[1], "--child"))
        return UtChildMain(Argc - 2, Argv + 2);
    return UtMain(Argc, Argv);
}

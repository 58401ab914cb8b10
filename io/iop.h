/*
 * iop.h - private to io/: what the console's input devices share with the
 * console object (io/console.c).
 */
#ifndef PAGODA_IOP_H
#define PAGODA_IOP_H

#include "io.h"

/* At device IRQL: store C in the console's input ring (dropped when the
 * ring is full) and queue the console's DPC, which wakes readers. */
void IopConsoleInputPush(char C);

#endif /* PAGODA_IOP_H */

/*
 * obp.h - private to ob/: what the reference side (obref.c) and the
 * handle-table side (obhandle.c) of the object manager share.
 */
#ifndef PAGODA_OBP_H
#define PAGODA_OBP_H

#include "ob.h"

/* The reference a new handle holds: PointerCount, then HandleCount, then
 * the type's handle counters. Any IRQL <= DISPATCH_LEVEL. */
void ObpAddHandleReference(PVOID Object);

/* Drop a closed handle's reference: HandleCount first, then
 * ObDereferenceObject, which may delete the object. No table lock held.
 * IRQL <= DISPATCH_LEVEL. */
void ObpDropHandleReference(PVOID Object);

#endif /* PAGODA_OBP_H */

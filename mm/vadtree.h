/*
 * vadtree.h - the balanced (AVL) tree that holds a process's Virtual
 * Address Descriptors. Private to mm/.
 *
 * Every process describes which parts of its user space are reserved or
 * committed with VADs. Each VAD covers a range of virtual page numbers
 * (VPN = VA >> PAGE_SHIFT), and the ranges of one process never overlap.
 * NT keeps them in an AVL tree ordered by address, so that "which VAD
 * contains this faulting address?" costs O(log n) even for processes with
 * thousands of allocations. The node is NT's MMADDRESS_NODE and the tree
 * NT's MM_AVL_TABLE; a VAD structure embeds an MMADDRESS_NODE (an
 * "intrusive" node), so this code never allocates: the caller owns the
 * memory of every node and gets it back through CONTAINING_RECORD.
 *
 * Locking: none inside. The tree of an address space is protected by the
 * VM mutex (mm/virtual.c), which every caller holds - or the caller is the
 * only thread that can reach the tree (creating or deleting the address
 * space; the host unit tests). The code touches only the nodes and the
 * table, never pageable memory of its own, so it is safe at any IRQL at
 * which the nodes themselves may be touched.
 *
 * All functions take the table first, unlike NT's MiInsertNode(Node, Table):
 * one order for every routine is easier to remember.
 */
#ifndef PAGODA_MM_VADTREE_H
#define PAGODA_MM_VADTREE_H

#include "mm.h"

/* MMADDRESS_NODE and MM_AVL_TABLE are defined in mm/mm.h, because
 * MMADDRESS_SPACE embeds the table; everything that reads or changes them
 * is here. */

/* Make Table an empty tree. */
VOID MiInitializeAvlTable(PMM_AVL_TABLE Table);

/*
 * Link Node, whose StartingVpn and EndingVpn the caller has filled in, into
 * Table, and rebalance. The node's link and balance fields are overwritten.
 * Returns STATUS_SUCCESS; STATUS_INVALID_PARAMETER when StartingVpn >
 * EndingVpn; STATUS_CONFLICTING_ADDRESSES when the range overlaps a node
 * already in the table. On failure the table is unchanged. O(log n).
 */
MUST_INSPECT_RESULT NTSTATUS MiInsertNode(PMM_AVL_TABLE Table, PMMADDRESS_NODE Node);

/*
 * Unlink Node from Table and rebalance. The node's memory still belongs to
 * the caller (who typically frees the VAD around it next); its links are
 * cleared. Returns STATUS_SUCCESS, or STATUS_NOT_FOUND when Node is not in
 * Table (a double free of a VAD, say), in which case nothing changes.
 * O(log n).
 */
MUST_INSPECT_RESULT NTSTATUS MiRemoveNode(PMM_AVL_TABLE Table, PMMADDRESS_NODE Node);

/* The node whose range contains Vpn, or NULL. O(log n). */
PMMADDRESS_NODE MiLocateAddress(PMM_AVL_TABLE Table, ULONG_PTR Vpn);

/*
 * The lowest node whose range overlaps [StartVpn, EndVpn] (both inclusive),
 * or NULL when the range is free (or StartVpn > EndVpn). O(log n).
 */
PMMADDRESS_NODE MiFindConflict(PMM_AVL_TABLE Table, ULONG_PTR StartVpn,
                               ULONG_PTR EndVpn);

/*
 * In-order walk, lowest address first: MiFirstNode / MiLastNode give the
 * lowest / highest node (NULL when empty), MiNextNode / MiPreviousNode the
 * neighbour of Node in address order (NULL at the end). O(log n) each,
 * O(1) amortised over a whole walk. The tree must not change during a walk.
 */
PMMADDRESS_NODE MiFirstNode(PMM_AVL_TABLE Table);
PMMADDRESS_NODE MiLastNode(PMM_AVL_TABLE Table);
PMMADDRESS_NODE MiNextNode(PMMADDRESS_NODE Node);
PMMADDRESS_NODE MiPreviousNode(PMMADDRESS_NODE Node);

/*
 * Find SizeInPages free pages, starting at a multiple of AlignmentInPages,
 * that lie inside [LowestVpn, HighestVpn] (both inclusive) and overlap no
 * node. Bottom-up (TopDown == FALSE) picks the lowest such base, top-down
 * the highest, as Windows does for MEM_TOP_DOWN. The tree is not changed.
 * Returns STATUS_SUCCESS with *BaseVpn set; STATUS_NO_MEMORY when no gap
 * fits; STATUS_INVALID_PARAMETER when SizeInPages is 0 or AlignmentInPages
 * is not a power of two (caller bugs: NtAllocateVirtualMemory validates
 * user input before it gets here). O(log n + k), k = nodes in the window.
 */
MUST_INSPECT_RESULT NTSTATUS MiFindEmptyAddressRange(PMM_AVL_TABLE Table,
                                                 ULONG_PTR SizeInPages,
                                                 ULONG_PTR AlignmentInPages,
                                                 ULONG_PTR LowestVpn,
                                                 ULONG_PTR HighestVpn,
                                                 BOOLEAN TopDown,
                                                 PULONG_PTR BaseVpn);

/*
 * Check every invariant of Table: ranges well formed, in order and
 * disjoint; parent links consistent; every balance factor equal to the real
 * height difference and within -1..1; the node count. TRUE when all hold.
 * O(n) time, recursion depth bounded by a fixed limit - for tests and
 * debug checks, not for hot paths.
 */
BOOLEAN MiVerifyAvlTable(PMM_AVL_TABLE Table);

#endif /* PAGODA_MM_VADTREE_H */

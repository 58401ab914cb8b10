/*
 * vadtree.c - the AVL tree of address ranges behind a process's VADs.
 *
 * Data structures: MM_AVL_TABLE (the tree) and MMADDRESS_NODE (one range
 * of virtual pages, [StartingVpn, EndingVpn], embedded in a VAD); see
 * vadtree.h. Ranges in one table never overlap, so ordering nodes by
 * StartingVpn also orders them by EndingVpn, and a search for a page
 * number is an ordinary binary-search-tree descent.
 *
 * Locking and IRQL: none here; the caller holds the VM mutex
 * (mm/virtual.c) or is the only thread that can reach the tree. No
 * allocation, no pageable data of our own.
 *
 * Why AVL. A plain binary search tree degenerates into a list when ranges
 * are inserted in address order - and that is exactly how a process
 * allocates (bottom-up, one VAD after another). An AVL tree keeps, at every
 * node, the heights of the two subtrees within one of each other, which
 * bounds the height at about 1.44 * log2(n): a lookup among 10,000 VADs
 * visits at most 19 nodes. Each node stores
 *
 *     Balance = height(right subtree) - height(left subtree), in -1..1.
 *
 * Keeping the rule. An insert or a remove changes subtree heights along a
 * single path only: the path from the changed spot up to the root. We walk
 * back up that path ("retracing"), adjusting each Balance, and stop as soon
 * as a subtree's height turns out unchanged. Where a Balance reaches +2 or
 * -2, a rotation repairs it. A rotation moves three links and keeps the
 * in-order sequence - the address order - intact:
 *
 *         X                                  Y
 *        / \        rotate left at X        / \
 *       a   Y      ----------------->      X   c
 *          / \     <-----------------     / \
 *         b   c     rotate right at Y    a   b
 *
 *     In order, both trees read  a X b Y c.
 *
 * (a, b and c are whole subtrees, possibly empty.) Rotating left lifts c
 * one level and sinks a one level, which is what a right-heavy X needs.
 *
 * When X is right-heavy (+2) there are two shapes:
 *
 *   - Y is right-heavy or even: the height is on the outside (in c), and
 *     one left rotation at X brings it up.
 *
 *   - Y is left-heavy: the height is on the inside, in Y's left child Z.
 *     A single rotation would only move it to the other side, so we first
 *     rotate right at Y, which turns the inside case into the outside case,
 *     then rotate left at X (a "double rotation"); Z ends on top:
 *
 *         X                X                       Z
 *        / \              / \                    /   \
 *       a   Y            a   Z                  X     Y
 *          / \   --->       / \      --->      / \   / \
 *         Z   d            b   Y              a   b c   d
 *        / \                  / \
 *       b   c                c   d
 *
 * A left-heavy X (-2) is the mirror image. After an insert, one (single or
 * double) rotation always restores the height the subtree had before the
 * insert, so retracing stops there. After a remove, the rotated subtree may
 * still be one shorter than before, and retracing must go on upwards.
 *
 * Rather than a table of cases, the rotations compute the new balances with
 * two formulas valid for any balances (derived in MiRotateLeft), so the
 * single and double rotations, for insert and remove, share one code path.
 */

#include "../include/ntdef.h"
#include "../include/ntstatus.h"
#include "vadtree.h"

#define MI_MAX_VPN ((ULONG_PTR)~(ULONG_PTR)0)

/*
 * No AVL tree can be this tall: one of height h holds at least
 * Fib(h + 2) - 1 nodes, so the 2^32 nodes that the ULONG count allows fit
 * in height 45. MiVerifyAvlTable uses this to bound its recursion, so that
 * a corrupted tree (a cycle, a list) fails the check instead of
 * overflowing the kernel stack.
 */
#define MI_AVL_MAX_HEIGHT 64

static inline LONG MiMaxLong(LONG A, LONG B)
{
    return A > B ? A : B;
}

static inline LONG MiMinLong(LONG A, LONG B)
{
    return A < B ? A : B;
}

VOID MiInitializeAvlTable(PMM_AVL_TABLE Table)
{
    Table->Root = NULL;
    Table->NumberGenericTableElements = 0;
}

/*
 * Make the link that pointed at Old - Parent's left or right child, or the
 * root when Parent is NULL - point at New, and give New its parent.
 */
static VOID MiReplaceChild(PMM_AVL_TABLE Table, PMMADDRESS_NODE Parent,
                           PMMADDRESS_NODE Old, PMMADDRESS_NODE New)
{
    if (Parent == NULL) {
        Table->Root = New;
    } else if (Parent->LeftChild == Old) {
        Parent->LeftChild = New;
    } else {
        Parent->RightChild = New;
    }
    if (New != NULL) {
        New->Parent = Parent;
    }
}

/*
 * Rotate left at X (see the diagram at the top); X must have a right child
 * Y. Returns Y, the new root of the subtree.
 *
 * New balances, with a, b, c the heights of the three subtrees:
 *   before: Balance(Y) = c - b,  Balance(X) = 1 + max(b, c) - a
 *   after:  Balance(X) = b - a
 *           = Balance(X) - 1 - max(Balance(Y), 0)
 *           Balance(Y) = c - (1 + max(a, b))
 *           = Balance(Y) - 1 + min(new Balance(X), 0)
 */
static PMMADDRESS_NODE MiRotateLeft(PMM_AVL_TABLE Table, PMMADDRESS_NODE X)
{
    PMMADDRESS_NODE Y = X->RightChild;
    PMMADDRESS_NODE B = Y->LeftChild;

    MiReplaceChild(Table, X->Parent, X, Y);
    X->RightChild = B;
    if (B != NULL) {
        B->Parent = X;
    }
    Y->LeftChild = X;
    X->Parent = Y;

    X->Balance = X->Balance - 1 - MiMaxLong(Y->Balance, 0);
    Y->Balance = Y->Balance - 1 + MiMinLong(X->Balance, 0);
    return Y;
}

/* The mirror image of MiRotateLeft: X must have a left child Y. */
static PMMADDRESS_NODE MiRotateRight(PMM_AVL_TABLE Table, PMMADDRESS_NODE X)
{
    PMMADDRESS_NODE Y = X->LeftChild;
    PMMADDRESS_NODE B = Y->RightChild;

    MiReplaceChild(Table, X->Parent, X, Y);
    X->LeftChild = B;
    if (B != NULL) {
        B->Parent = X;
    }
    Y->RightChild = X;
    X->Parent = Y;

    X->Balance = X->Balance + 1 - MiMinLong(Y->Balance, 0);
    Y->Balance = Y->Balance + 1 + MiMaxLong(X->Balance, 0);
    return Y;
}

/*
 * X's Balance is +2 or -2. Restore the AVL rule with a single or double
 * rotation and return the new root of X's subtree. That subtree is one
 * level shorter than it was before the rotation exactly when the new root's
 * Balance is 0 (the only other outcome - a single rotation over an even
 * child - keeps the height and leaves the root at +1 or -1).
 */
static PMMADDRESS_NODE MiRebalance(PMM_AVL_TABLE Table, PMMADDRESS_NODE X)
{
    if (X->Balance > 0) {
        if (X->RightChild->Balance < 0) {
            MiRotateRight(Table, X->RightChild);   /* inside case */
        }
        return MiRotateLeft(Table, X);
    }
    if (X->LeftChild->Balance > 0) {
        MiRotateLeft(Table, X->LeftChild);         /* inside case */
    }
    return MiRotateRight(Table, X);
}

/*
 * Child's subtree has just grown by one level (Child is a new leaf, or a
 * subtree that grew). Walk up, adjusting balances, until a subtree keeps its
 * height or a rotation fixes it.
 */
static VOID MiRetraceAfterInsert(PMM_AVL_TABLE Table, PMMADDRESS_NODE Child)
{
    PMMADDRESS_NODE Node;

    for (Node = Child->Parent; Node != NULL; Child = Node, Node = Node->Parent) {
        Node->Balance += (Child == Node->LeftChild) ? -1 : 1;
        if (Node->Balance == 0) {
            return;     /* the shorter side caught up: same height as before */
        }
        if (Node->Balance == 2 || Node->Balance == -2) {
            MiRebalance(Table, Node);
            return;     /* after an insert a rotation restores the old height */
        }
        /* +1 or -1: Node was even and is now one level taller; go on up. */
    }
}

/*
 * A subtree of Node - the left one when LeftShrank, else the right one -
 * has just lost one level. Walk up, adjusting balances, until some subtree
 * turns out to keep its height.
 */
static VOID MiRetraceAfterRemove(PMM_AVL_TABLE Table, PMMADDRESS_NODE Node,
                                 BOOLEAN LeftShrank)
{
    PMMADDRESS_NODE Parent;

    while (Node != NULL) {
        Node->Balance += LeftShrank ? 1 : -1;
        if (Node->Balance == 1 || Node->Balance == -1) {
            return;     /* Node was even: its other side still sets its height */
        }
        if (Node->Balance != 0) {
            Node = MiRebalance(Table, Node);
            if (Node->Balance != 0) {
                return; /* the rotation kept the subtree's height */
            }
        }
        /* Node's subtree is now one level shorter: tell its parent. */
        Parent = Node->Parent;
        if (Parent == NULL) {
            return;
        }
        LeftShrank = (Parent->LeftChild == Node);
        Node = Parent;
    }
}

NTSTATUS MiInsertNode(PMM_AVL_TABLE Table, PMMADDRESS_NODE Node)
{
    PMMADDRESS_NODE *Link = &Table->Root;
    PMMADDRESS_NODE Parent = NULL;

    if (Node->StartingVpn > Node->EndingVpn) {
        return STATUS_INVALID_PARAMETER;
    }

    /*
     * Descend to the empty spot where Node belongs, refusing any overlap on
     * the way. Checking only the nodes on this path is enough: the last
     * node where we turned right (the new node's predecessor) ends below
     * Node, the last one where we turned left (its successor) starts above
     * it, and every other node lies beyond one of those two. Nothing has
     * changed yet if we return early.
     */
    while (*Link != NULL) {
        Parent = *Link;
        if (Node->EndingVpn < Parent->StartingVpn) {
            Link = &Parent->LeftChild;
        } else if (Node->StartingVpn > Parent->EndingVpn) {
            Link = &Parent->RightChild;
        } else {
            return STATUS_CONFLICTING_ADDRESSES;
        }
    }

    Node->Parent = Parent;
    Node->LeftChild = NULL;
    Node->RightChild = NULL;
    Node->Balance = 0;
    *Link = Node;
    Table->NumberGenericTableElements++;

    MiRetraceAfterInsert(Table, Node);
    return STATUS_SUCCESS;
}

NTSTATUS MiRemoveNode(PMM_AVL_TABLE Table, PMMADDRESS_NODE Node)
{
    PMMADDRESS_NODE Parent;         /* where retracing starts */
    PMMADDRESS_NODE Child;
    PMMADDRESS_NODE Successor;
    BOOLEAN LeftShrank;

    /* A node is in the table iff a lookup of its first page finds it. */
    if (Node == NULL || MiLocateAddress(Table, Node->StartingVpn) != Node) {
        return STATUS_NOT_FOUND;
    }

    if (Node->LeftChild == NULL || Node->RightChild == NULL) {
        /* Zero or one child: lift the child (if any) into Node's place. */
        Child = (Node->LeftChild != NULL) ? Node->LeftChild : Node->RightChild;
        Parent = Node->Parent;
        LeftShrank = (Parent != NULL && Parent->LeftChild == Node);
        MiReplaceChild(Table, Parent, Node, Child);
    } else {
        /*
         * Two children. The in-order successor - the leftmost node of the
         * right subtree - has no left child, so it is easy to unlink; it
         * then takes Node's place, links and balance. (A tree of plain keys
         * would copy the successor's key into Node instead; our nodes are
         * embedded in VADs, so the nodes themselves must move.)
         */
        Successor = Node->RightChild;
        while (Successor->LeftChild != NULL) {
            Successor = Successor->LeftChild;
        }

        if (Successor == Node->RightChild) {
            /* It keeps its right subtree, which is now one level shorter
             * than Node's right subtree was. */
            Parent = Successor;
            LeftShrank = FALSE;
        } else {
            Parent = Successor->Parent;
            LeftShrank = TRUE;
            MiReplaceChild(Table, Parent, Successor, Successor->RightChild);
            Successor->RightChild = Node->RightChild;
            Successor->RightChild->Parent = Successor;
        }
        Successor->LeftChild = Node->LeftChild;
        Successor->LeftChild->Parent = Successor;
        Successor->Balance = Node->Balance;
        MiReplaceChild(Table, Node->Parent, Node, Successor);
    }

    Table->NumberGenericTableElements--;
    Node->Parent = NULL;
    Node->LeftChild = NULL;
    Node->RightChild = NULL;
    Node->Balance = 0;

    MiRetraceAfterRemove(Table, Parent, LeftShrank);
    return STATUS_SUCCESS;
}

PMMADDRESS_NODE MiLocateAddress(PMM_AVL_TABLE Table, ULONG_PTR Vpn)
{
    PMMADDRESS_NODE Node = Table->Root;

    while (Node != NULL) {
        if (Vpn < Node->StartingVpn) {
            Node = Node->LeftChild;
        } else if (Vpn > Node->EndingVpn) {
            Node = Node->RightChild;
        } else {
            return Node;
        }
    }
    return NULL;
}

/*
 * The lowest node that ends at or after Vpn, or NULL. EndingVpn grows in
 * address order (the ranges are disjoint), so this is a lower-bound search:
 * remember every candidate and keep looking left of it for a lower one.
 */
static PMMADDRESS_NODE MiFirstEndingAtOrAfter(PMM_AVL_TABLE Table, ULONG_PTR Vpn)
{
    PMMADDRESS_NODE Node = Table->Root;
    PMMADDRESS_NODE Best = NULL;

    while (Node != NULL) {
        if (Node->EndingVpn >= Vpn) {
            Best = Node;
            Node = Node->LeftChild;
        } else {
            Node = Node->RightChild;
        }
    }
    return Best;
}

/* The highest node that starts at or before Vpn, or NULL (the mirror). */
static PMMADDRESS_NODE MiLastStartingAtOrBefore(PMM_AVL_TABLE Table, ULONG_PTR Vpn)
{
    PMMADDRESS_NODE Node = Table->Root;
    PMMADDRESS_NODE Best = NULL;

    while (Node != NULL) {
        if (Node->StartingVpn <= Vpn) {
            Best = Node;
            Node = Node->RightChild;
        } else {
            Node = Node->LeftChild;
        }
    }
    return Best;
}

PMMADDRESS_NODE MiFindConflict(PMM_AVL_TABLE Table, ULONG_PTR StartVpn,
                               ULONG_PTR EndVpn)
{
    PMMADDRESS_NODE Node;

    if (StartVpn > EndVpn) {
        return NULL;
    }
    /* Every node before this one ends below StartVpn; if this one starts
     * after EndVpn, so do all the later ones. */
    Node = MiFirstEndingAtOrAfter(Table, StartVpn);
    if (Node != NULL && Node->StartingVpn <= EndVpn) {
        return Node;
    }
    return NULL;
}

PMMADDRESS_NODE MiFirstNode(PMM_AVL_TABLE Table)
{
    PMMADDRESS_NODE Node = Table->Root;

    if (Node == NULL) {
        return NULL;
    }
    while (Node->LeftChild != NULL) {
        Node = Node->LeftChild;
    }
    return Node;
}

PMMADDRESS_NODE MiLastNode(PMM_AVL_TABLE Table)
{
    PMMADDRESS_NODE Node = Table->Root;

    if (Node == NULL) {
        return NULL;
    }
    while (Node->RightChild != NULL) {
        Node = Node->RightChild;
    }
    return Node;
}

PMMADDRESS_NODE MiNextNode(PMMADDRESS_NODE Node)
{
    PMMADDRESS_NODE Parent;

    /* With a right subtree, the next node is the leftmost one in it. */
    if (Node->RightChild != NULL) {
        Node = Node->RightChild;
        while (Node->LeftChild != NULL) {
            Node = Node->LeftChild;
        }
        return Node;
    }
    /* Otherwise climb until we come up from a left child: that parent is
     * the first ancestor not yet visited. */
    Parent = Node->Parent;
    while (Parent != NULL && Node == Parent->RightChild) {
        Node = Parent;
        Parent = Parent->Parent;
    }
    return Parent;
}

PMMADDRESS_NODE MiPreviousNode(PMMADDRESS_NODE Node)
{
    PMMADDRESS_NODE Parent;

    if (Node->LeftChild != NULL) {
        Node = Node->LeftChild;
        while (Node->RightChild != NULL) {
            Node = Node->RightChild;
        }
        return Node;
    }
    Parent = Node->Parent;
    while (Parent != NULL && Node == Parent->LeftChild) {
        Node = Parent;
        Parent = Parent->Parent;
    }
    return Parent;
}

/*
 * The gap searches. A free, aligned gap cannot be found by one descent:
 * the tree is ordered by address, not by the size of the holes between
 * nodes (NT-style trees that answer this in O(log n) keep the largest hole
 * of each subtree in every node, which costs a field and more work on every
 * rotation). So we descend once, in O(log n), to the first node that can
 * collide with the first candidate base, then walk in address order,
 * moving the candidate past each node that gets in the way. The walk only
 * visits nodes inside [LowestVpn, HighestVpn] and stops at the first fit;
 * the cost is O(log n + k) for k nodes crossed.
 *
 * Both take SizeInPages >= 1, a power-of-two alignment, and a window that
 * is at least SizeInPages long (SizeInPages - 1 <= HighestVpn - LowestVpn),
 * and are careful never to overflow a ULONG_PTR.
 */
static NTSTATUS MiFindGapBottomUp(PMM_AVL_TABLE Table, ULONG_PTR SizeInPages,
                                  ULONG_PTR Mask, ULONG_PTR LowestVpn,
                                  ULONG_PTR HighestVpn, PULONG_PTR BaseVpn)
{
    PMMADDRESS_NODE Node;
    ULONG_PTR Base;
    ULONG_PTR Last;

    if (LowestVpn > MI_MAX_VPN - Mask) {
        return STATUS_NO_MEMORY;        /* no aligned page at or above it */
    }
    Base = (LowestVpn + Mask) & ~Mask;
    Node = MiFirstEndingAtOrAfter(Table, Base);

    for (;;) {
        if (Base > HighestVpn || SizeInPages - 1 > HighestVpn - Base) {
            return STATUS_NO_MEMORY;
        }
        Last = Base + SizeInPages - 1;

        /* Alignment may have carried Base past whole nodes: skip them. */
        while (Node != NULL && Node->EndingVpn < Base) {
            Node = MiNextNode(Node);
        }
        if (Node == NULL || Node->StartingVpn > Last) {
            *BaseVpn = Base;
            return STATUS_SUCCESS;
        }

        /* Node is in the way: try the first aligned page above it. */
        if (Node->EndingVpn > MI_MAX_VPN - 1 - Mask) {
            return STATUS_NO_MEMORY;
        }
        Base = (Node->EndingVpn + 1 + Mask) & ~Mask;
        Node = MiNextNode(Node);
    }
}

static NTSTATUS MiFindGapTopDown(PMM_AVL_TABLE Table, ULONG_PTR SizeInPages,
                                 ULONG_PTR Mask, ULONG_PTR LowestVpn,
                                 ULONG_PTR HighestVpn, PULONG_PTR BaseVpn)
{
    PMMADDRESS_NODE Node;
    ULONG_PTR Base;
    ULONG_PTR Last;

    /* The highest aligned base whose range still ends by HighestVpn. */
    Base = (HighestVpn - (SizeInPages - 1)) & ~Mask;
    Node = MiLastStartingAtOrBefore(Table, Base + SizeInPages - 1);

    for (;;) {
        if (Base < LowestVpn) {
            return STATUS_NO_MEMORY;
        }
        Last = Base + SizeInPages - 1;

        while (Node != NULL && Node->StartingVpn > Last) {
            Node = MiPreviousNode(Node);
        }
        if (Node == NULL || Node->EndingVpn < Base) {
            *BaseVpn = Base;
            return STATUS_SUCCESS;
        }

        /* Node is in the way: the range must end just below it. */
        if (Node->StartingVpn < SizeInPages) {
            return STATUS_NO_MEMORY;
        }
        Base = (Node->StartingVpn - SizeInPages) & ~Mask;
        Node = MiPreviousNode(Node);
    }
}

NTSTATUS MiFindEmptyAddressRange(PMM_AVL_TABLE Table, ULONG_PTR SizeInPages,
                                 ULONG_PTR AlignmentInPages, ULONG_PTR LowestVpn,
                                 ULONG_PTR HighestVpn, BOOLEAN TopDown,
                                 PULONG_PTR BaseVpn)
{
    ULONG_PTR Mask = AlignmentInPages - 1;

    if (SizeInPages == 0 || AlignmentInPages == 0 ||
        (AlignmentInPages & Mask) != 0) {
        return STATUS_INVALID_PARAMETER;
    }
    if (LowestVpn > HighestVpn || SizeInPages - 1 > HighestVpn - LowestVpn) {
        return STATUS_NO_MEMORY;        /* the window itself is too small */
    }
    if (TopDown) {
        return MiFindGapTopDown(Table, SizeInPages, Mask, LowestVpn,
                                HighestVpn, BaseVpn);
    }
    return MiFindGapBottomUp(Table, SizeInPages, Mask, LowestVpn, HighestVpn,
                             BaseVpn);
}

/*
 * Check the subtree rooted at Node, whose parent must be Parent and whose
 * ranges must all lie within [MinVpn, MaxVpn]. Narrowing that window on the
 * way down checks order and disjointness together. Returns the subtree's
 * height and adds its node count to *Count.
 */
static BOOLEAN MiVerifySubtree(PMMADDRESS_NODE Node, PMMADDRESS_NODE Parent,
                               ULONG_PTR MinVpn, ULONG_PTR MaxVpn, ULONG Depth,
                               PLONG Height, PULONG Count)
{
    LONG LeftHeight;
    LONG RightHeight;

    if (Node == NULL) {
        *Height = 0;
        return TRUE;
    }
    if (Depth >= MI_AVL_MAX_HEIGHT || Node->Parent != Parent) {
        return FALSE;
    }
    if (Node->StartingVpn > Node->EndingVpn || Node->StartingVpn < MinVpn ||
        Node->EndingVpn > MaxVpn) {
        return FALSE;
    }
    /* Leave no room for a wrap-around in the windows passed down. */
    if ((Node->LeftChild != NULL && Node->StartingVpn == 0) ||
        (Node->RightChild != NULL && Node->EndingVpn == MI_MAX_VPN)) {
        return FALSE;
    }
    if (!MiVerifySubtree(Node->LeftChild, Node, MinVpn, Node->StartingVpn - 1,
                         Depth + 1, &LeftHeight, Count) ||
        !MiVerifySubtree(Node->RightChild, Node, Node->EndingVpn + 1, MaxVpn,
                         Depth + 1, &RightHeight, Count)) {
        return FALSE;
    }
    if (Node->Balance != RightHeight - LeftHeight ||
        Node->Balance < -1 || Node->Balance > 1) {
        return FALSE;
    }
    *Height = 1 + MiMaxLong(LeftHeight, RightHeight);
    (*Count)++;
    return TRUE;
}

BOOLEAN MiVerifyAvlTable(PMM_AVL_TABLE Table)
{
    LONG Height;
    ULONG Count = 0;

    if (!MiVerifySubtree(Table->Root, NULL, 0, MI_MAX_VPN, 0, &Height, &Count)) {
        return FALSE;
    }
    return Count == Table->NumberGenericTableElements;
}

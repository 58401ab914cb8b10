/*
 * pattern.c - matching a name against a comma-separated list of glob
 * patterns ("mm_*,ke_event_*"): how the "ktest=PATTERN" command-line key
 * selects in-kernel tests. Pure code, shared by the kernel and host tests.
 */
#include "rtl.h"

/*
 * TRUE when Name matches the glob Pattern[0 .. PatternEnd), where '*'
 * matches any run of characters, the empty one included. Greedy with one
 * step of backtracking: on a mismatch, the last '*' seen swallows one more
 * character of Name and matching resumes after it. Earlier stars never need
 * revisiting, so this is O(pattern x name) at worst.
 */
static BOOLEAN RtlpGlobMatches(const char *Pattern, const char *PatternEnd, const char *Name)
{
    const char *AfterStar = NULL;
    const char *StarName = NULL;

    while (*Name != '\0') {
        if (Pattern < PatternEnd && *Pattern == '*') {
            AfterStar = ++Pattern;
            StarName = Name;
        } else if (Pattern < PatternEnd && *Pattern == *Name) {
            Pattern++;
            Name++;
        } else if (AfterStar != NULL) {
            Pattern = AfterStar;
            Name = ++StarName;
        } else {
            return FALSE;
        }
    }
    while (Pattern < PatternEnd && *Pattern == '*') {
        Pattern++;
    }
    return Pattern == PatternEnd;
}

/*
 * See rtl/rtl.h. An empty (or NULL) pattern matches every name; inside a
 * list, an empty alternative ("a,,b" or a trailing comma) matches nothing.
 */
BOOLEAN RtlMatchNamePattern(const char *Pattern, const char *Name)
{
    const char *Alternative;

    if (Name == NULL) {
        return FALSE;
    }
    if (Pattern == NULL || *Pattern == '\0') {
        return TRUE;
    }

    Alternative = Pattern;
    for (;;) {
        const char *End = Alternative;

        while (*End != '\0' && *End != ',') {
            End++;
        }
        if (End > Alternative && RtlpGlobMatches(Alternative, End, Name)) {
            return TRUE;
        }
        if (*End == '\0') {
            return FALSE;
        }
        Alternative = End + 1;
    }
}

"""tests/labs.py - the course labs and their graded tests.

One entry per lab: its title, its handout (docs/labs/labN.md), the graded
tests with their points, and `given`: the score the untouched student tree
gets (tests that already pass before the student writes anything; the
handout states the same number, and `make test` checks both).

Kinds of graded test (tests/grade.py runs them):
  ktest     boot with ktest=PATTERN; every selected in-kernel test passes
            and at least `count` of them ran
  bugcheck  boot with ktest=PATTERN (one KTEST_BUGCHECK test); the system
            stops with `code`, and the screen shows each `expect_text` regex
  host      run build/host/PATTERN; the tests whose names match `select`
            (a regex) all pass, at least `count` of them

Timeouts are seconds on an idle machine; grade.py scales them with load.
"""


class Test:
    def __init__(self, name, points, kind, pattern, count=1, code=None,
                 expect_text=(), select=".*", timeout=120):
        self.name, self.points, self.kind, self.pattern = name, points, kind, pattern
        self.count, self.code, self.expect_text = count, code, tuple(expect_text)
        self.select, self.timeout = select, timeout


class Lab:
    def __init__(self, title, tests, given=0):
        self.title, self.tests, self.given = title, tests, given

    def total(self):
        return sum(t.points for t in self.tests)


LABS = {}

LABS[1] = Lab(
    "Boot and debug: from GRUB to the higher half, and symbolized backtraces",
    [
        Test("l1.lookup", 60, "ktest", "symbols.*", count=4),
        Test("l1.backtrace", 40, "bugcheck", "bugcheck.explicit_call", code=0xE2,
             expect_text=[r"#0\s+0x[0-9a-f]+ ktest_bugcheck_explicit_call\+0x",
                          r"#\d+\s+0x[0-9a-f]+ KiSystemStartup\+0x"]),
    ],
    given=0)

"""tests/labs.py - the course labs and their graded tests.

One entry per lab: its title, its handout (docs/labs/labN.md), the graded
tests with their points, and `given`: the score the untouched student tree
gets (tests that already pass before the student writes anything; the
handout states the same number, and `make test` checks both).

Kinds of graded test (tests/grade.py runs them):
  ktest     boot with ktest=PATTERN; every selected in-kernel test passes,
            at least `count` of them ran, and each `expect_text` regex
            matches a line of the serial log
  bugcheck  boot with ktest=PATTERN (one KTEST_BUGCHECK test); the system
            stops with `code`, and the screen shows each `expect_text` regex
  host      run build/host/PATTERN; the tests whose names match `select`
            (a regex) all pass, at least `count` of them

A ktest or bugcheck test with disk=True boots with the harness's
pattern disk attached (tests/run.py make_test_disk, tools/mkdisk.py
--pattern: 8 MiB of pattern, a 7 MiB pagefile partition, a 1 MiB test partition).

Timeouts are seconds on an idle machine; grade.py scales them with load.
"""


class Test:
    def __init__(self, name, points, kind, pattern, count=1, code=None,
                 expect_text=(), select=".*", timeout=120, disk=False):
        self.name, self.points, self.kind, self.pattern = name, points, kind, pattern
        self.count, self.code, self.expect_text = count, code, tuple(expect_text)
        self.select, self.timeout, self.disk = select, timeout, disk


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

LABS[2] = Lab(
    "Address translation: the four-level walk through the self-map",
    [
        Test("l2.walk", 70, "ktest", "translation.kernel_*,translation.each_*,translation.walk_*,"
             "translation.the_self_map_*,translation.non_canonical_*", count=5),
        Test("l2.dump", 30, "ktest", "translation.dump_prints_every_level",
             expect_text=[r"^VA FFFFFFFF'80[0-9A-F]{6}\s*$",
                          r"^  PXE\[1ff\] at FFFFF6FB'7DBEDFF8 = [0-9a-f]{16}  pfn [0-9a-f]+ RW X  kernel",
                          r"^  PTE\[[0-9a-f]{3}\] at FFFFF6FF'[0-9A-F]{8} = [0-9a-f]{16}  pfn [0-9a-f]+ R- X  kernel",
                          r"^  PXE\[100\] at FFFFF6FB'7DBED800 = 0{16}  not present"]),
    ],
    given=0)

LABS[3] = Lab(
    "Physical memory: the PFN database, the free and zeroed lists, the zero-page thread",
    [
        Test("l3.zero-one-page", 30, "ktest",
             "zeroing.one_step_moves_the_free_head_to_the_zeroed_list_zeroed"),
        Test("l3.zeroed-first", 30, "ktest",
             "zeroing.zeroed_list_serves_first_without_zeroing_again"),
        Test("l3.on-demand", 20, "ktest", "zeroing.empty_zeroed_list_means_zeroing_on_demand"),
        Test("l3.thread", 20, "ktest", "zeroing.the_zero_page_thread_refills_the_zeroed_list"),
    ],
    given=0)

LABS[7] = Lab(
    "Address spaces: a process's page tables, from creation to the last frame",
    [
        Test("l7.same-va", 30, "ktest", "aspace.two_processes_same_va_private_frames"),
        Test("l7.teardown", 40, "ktest", "aspace.create_and_destroy_1000_with_memory_committed",
             timeout=300),
        Test("l7.probe-cleanup", 30, "ktest", "probe.cleanup_returns_every_page"),
    ],
    given=0)

LABS[8] = Lab(
    "System calls and user memory: probing and capturing user pointers",
    [
        Test("l8.ranges", 25, "ktest", "probe.bad_ranges_fail_without_a_fault"),
        Test("l8.alignment", 15, "ktest", "probe.probe_for_read_and_write_rules"),
        Test("l8.write-probe", 30, "ktest",
             "probe.read_only_pages_refuse_writes,probe.partially_committed_buffers_fail,"
             "probe.unmapped_reserved_and_decommitted_pages_fail", count=3),
        Test("l8.services", 30, "ktest", "nt.*", count=15, timeout=300),
    ],
    given=0)

LABS[4] = Lab(
    "Pools: headers, free lists, lookasides and tags, checked from end to end",
    [
        Test("l4.reports-corruption", 30, "host", "test_pool",
             select="validate_reports_corruption"),
        Test("l4.host-walks", 30, "host", "test_pool", count=7,
             select="random_churn_with_lookaside|random_churn_without_lookaside|"
                    "random_churn_deep_lookaside|tag_accounting|every_small_size|big_sizes|"
                    "coalescing_returns_pages"),
        Test("l4.kernel-pools", 40, "ktest",
             "pool.*_sizes_from_1_byte_to_1_mib,pool.random_frees_*,pool.fast_path_keeps_*",
             count=4),
    ],
    given=0)

LABS[5] = Lab(
    "Dispatcher objects: waits, events, and a semaphore of your own",
    [
        Test("l5.limit", 30, "ktest", "semaphore.limit_is_never_passed"),
        Test("l5.wakes-n", 40, "ktest", "semaphore.release_of_n_wakes_n_waiters", timeout=60),
        Test("l5.wait-all", 30, "ktest", "semaphore.wait_all_takes_semaphore_mutant_and_event_*"),
    ],
    given=0)

LABS[6] = Lab(
    "IRQL, DPCs and the clock: the DPC queue and periodic timers",
    [
        Test("l6.remove-dpc", 50, "ktest", "dpc.remove_queue_dpc"),
        Test("l6.periodic", 50, "ktest", "timer.periodic_fires_about_period_apart", timeout=60),
    ],
    given=0)

LABS[9] = Lab(
    "A driver: pending IRPs, completion from a DPC in another thread, and cancellation",
    [
        Test("l9.pend", 40, "ktest",
             "delay.buffered_read_pends_then_completes,delay.direct_read_crosses_pages", count=2),
        Test("l9.queue", 30, "ktest", "delay.queued_reads_complete_in_order"),
        Test("l9.cancel", 30, "ktest", "delay.cancel_queued_read"),
    ],
    given=0)

LABS[10] = Lab(
    "Disks and partitions: a device that sends IRPs on to another",
    [
        Test("l10.mbr", 30, "ktest", "partition.the_mbr_gives_a_pagefile_and_a_test_partition", disk=True),
        Test("l10.forward", 40, "ktest",
             "partition.a_read_is_shifted_by_the_partition_start,"
             "partition.a_write_lands_at_the_start_plus_the_offset", count=2, disk=True),
        Test("l10.range", 30, "ktest", "partition.requests_stay_inside_the_partition", disk=True),
    ],
    given=0)

LABS[11] = Lab(
    "Working sets: taking a page away from a process, and choosing which",
    [
        Test("l11.trim", 40, "ktest", "wset.trim_makes_*,wset.exit_with_pages_*,"
             "wset.standby_reuse_*", count=3),
        Test("l11.locked", 20, "ktest", "wset.mdl_locked_page_is_not_trimmed"),
        Test("l11.paged-pool", 15, "ktest", "wset.paged_pool_trimmed_and_soft_faulted"),
        Test("l11.aging", 25, "ktest", "wset.aging_trims_only_pages_left_untouched"),
    ],
    given=0)

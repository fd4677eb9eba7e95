"""The events benchmark's CPU accounting: Lambda environments are forked from function images, so the
workers it must count are grandchildren of the benchmark's process, not only children."""

from bench.events_bench import descends_from

# pid -> parent pid: 10 is the benchmark; 11 a function image; 12 and 13 environments forked from it; 20
# an unrelated process and 21 its child.
PROCESS_TREE = {10: 1, 11: 10, 12: 11, 13: 11, 20: 1, 21: 20}


def test_an_environment_forked_from_a_function_image_counts_as_the_benchmarks_worker() -> None:
    # GIVEN a process tree where environments are grandchildren of the benchmark
    # WHEN each process is asked whether it descends from the benchmark
    descendants = {pid for pid in PROCESS_TREE if descends_from(pid, 10, PROCESS_TREE)}
    # THEN children and grandchildren do, the benchmark itself and unrelated processes do not
    assert descendants == {11, 12, 13}

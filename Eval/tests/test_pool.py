"""The scheduler that keeps the runs within the cores they may claim."""

import threading
import time
import unittest

from trellis_eval.pool import Pool


class PoolTests(unittest.TestCase):
    def test_the_cores_claimed_at_once_stay_within_the_budget(self):
        lock = threading.Lock()
        claimed = {"now": 0, "most": 0}

        def job(cores):
            def work(busy_cores):
                with lock:
                    claimed["now"] += cores
                    claimed["most"] = max(claimed["most"], claimed["now"])
                time.sleep(0.01)
                with lock:
                    claimed["now"] -= cores
            return work
        pool = Pool(2)
        for index, cores in enumerate([1, 2, 1, 1, 3, 1, 1, 2, 1, 1]):
            pool.add(cores, job(min(cores, 2)), f"job {index}")
        pool.run()
        self.assertEqual((claimed["most"], pool.errors), (2, []))

    def test_a_budget_below_one_core_is_refused(self):
        # Before, every job fitted into such a budget: 10 jobs of a Pool(0) ran at once.
        for cores in (0, -1):
            with self.subTest(cores=cores), self.assertRaises(ValueError) as refused:
                Pool(cores)
            self.assertEqual(str(refused.exception),
                             f"a pool needs at least 1 core, not {cores}")

    def test_a_job_claiming_no_core_is_refused(self):
        with self.assertRaises(ValueError) as refused:
            Pool(2).add(0, lambda busy_cores: None, "job 0")
        self.assertEqual(str(refused.exception), "job 0: a job claims at least 1 core, not 0")


if __name__ == "__main__":
    unittest.main()

"""A scheduler that keeps the cores claimed by running jobs within a budget."""

import threading


class Pool:
    """Runs jobs on threads so that the cores they claim never exceed `cores`.

    A job claiming more cores than the budget claims the whole budget. Jobs start in the order
    they were added, skipping those that do not fit yet; each job is called with `busy_cores`,
    the cores claimed by the jobs already running when it started.
    """

    def __init__(self, cores):
        # A budget below 1 would let every job fit, each claiming min(its cores, budget).
        if cores < 1:
            raise ValueError(f"a pool needs at least 1 core, not {cores}")
        self.cores = cores
        self.free = cores
        self.condition = threading.Condition()
        self.pending = []
        self.running = 0
        self.errors = []

    def add(self, cores, function, label):
        if cores < 1:  # a job claiming nothing would run alongside any number of others
            raise ValueError(f"{label}: a job claims at least 1 core, not {cores}")
        self.pending.append((min(cores, self.cores), function, label))

    def run(self):
        threads = []
        with self.condition:
            while self.pending or self.running:
                fitting = next((i for i, job in enumerate(self.pending) if job[0] <= self.free),
                               None)
                if fitting is None:
                    self.condition.wait()
                    continue
                cores, function, label = self.pending.pop(fitting)
                others = self.cores - self.free
                self.free -= cores
                self.running += 1
                thread = threading.Thread(target=self._work,
                                          args=(cores, function, label, others))
                thread.start()
                threads.append(thread)
        for thread in threads:
            thread.join()

    def _work(self, cores, function, label, others):
        try:
            function(busy_cores=others)
        except Exception as error:  # a bug in one run must not hang the others
            self.errors.append(f"{label}: {error!r}")
            print(f"error in {label}: {error!r}", flush=True)
        finally:
            with self.condition:
                self.free += cores
                self.running -= 1
                self.condition.notify_all()

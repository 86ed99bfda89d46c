# The Locust master only needs the user-class names and weights; the Horde workers run the real tasks
# (test/scenarios/interop.ts). Debian's 2.12.1 reports an empty version, which is harmless on a master.
from locust import User, constant, task


class Browser(User):
    weight = 3
    wait_time = constant(1)

    @task
    def noop(self):
        pass


class Breaker(User):
    weight = 1
    wait_time = constant(1)

    @task
    def noop(self):
        pass

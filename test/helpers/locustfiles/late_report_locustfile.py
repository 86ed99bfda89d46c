# A real Locust 2.12.1 worker whose stats reports come late: Locust sends them every WORKER_REPORT_INTERVAL
# seconds (3 by default, read on every loop), so at 10 s each report carries seconds that the Horde master's live
# metrics (sent 6 s after each second) have already sent. Heartbeats stay at 1 s: the worker is never missing.
import locust.runners
from locust import HttpUser, task, constant

locust.runners.WORKER_REPORT_INTERVAL = 10.0


class Voter(HttpUser):
    wait_time = constant(0.1)

    @task(1)
    def results(self):
        self.client.get("/results", name="/results")

    @task(2)
    def vote(self):
        self.client.post("/vote", data={"vote": "a"}, name="/vote")

# A Locust 2.12.1 locustfile for the Horde master tests: the class name `Voter` must match the plan's user class,
# because the master sends it in spawn.user_classes_count (P16).
from locust import HttpUser, task, constant


class Voter(HttpUser):
    wait_time = constant(0.1)

    @task(1)
    def results(self):
        self.client.get("/results", name="/results")

    @task(2)
    def vote(self):
        self.client.post("/vote", data={"vote": "a"}, name="/vote")

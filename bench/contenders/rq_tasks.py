"""RQ side of the I/O-bound workload (run with Debian's /usr/bin/python3 and /usr/bin/rq).

count_words is the task an `rq worker` runs, one job at a time: fetch the page, count
whitespace-separated words (naive on purpose: the point is the 100 ms wait, not the parser).
`REDIS_URL=<redis url> python3 rq_tasks.py <queue>` enqueues one job per URL read from stdin
(the Redis URL in the environment, never on the command line, where `ps` would show a password).
"""
import os
import sys

import requests


def count_words(url):
    response = requests.get(url, timeout=30)
    response.raise_for_status()
    return len(response.text.split())


def enqueue(redis_url, queue_name, urls):
    from redis import Redis
    from rq import Queue

    queue = Queue(queue_name, connection=Redis.from_url(redis_url))
    batch = 1000
    for i in range(0, len(urls), batch):
        jobs = [Queue.prepare_data("rq_tasks.count_words", (u,)) for u in urls[i:i + batch]]
        queue.enqueue_many(jobs)


if __name__ == "__main__":
    enqueue(os.environ["REDIS_URL"], sys.argv[1], [line.strip() for line in sys.stdin if line.strip()])

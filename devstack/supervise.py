"""Keep one service process running: `python -m devstack.supervise NAME -- COMMAND...`.

The local run's answer to compose's `restart: unless-stopped` and Kubernetes' restartPolicy: when the
service exits by itself (a crash, or a deliberate non-zero exit), it is started again after a back-off
that doubles from 1 s to 30 s and starts over once a run has lasted a minute. SIGTERM or SIGINT (Ctrl-C
under honcho, which signals the whole process group) stops the service and the supervisor for good.
"""
import ctypes
import signal
import subprocess
import sys
import time

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
HEALTHY_RUN_SECONDS = 60.0
STOP_GRACE_SECONDS = 15.0


PR_SET_PDEATHSIG = 1


def _own_group_ended_with_us():
    """In the child before exec: its own process group, so a signal to the supervisor's group (honcho's stop)
    reaches the service once, through the supervisor, not twice (Nameko's runner fails on a second SIGTERM);
    and SIGTERM when the supervisor dies, so a killed supervisor never leaves its service behind (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def next_backoff(previous, ran_for):
    """Seconds to wait before the next start, given the last wait and how long the last run lasted."""
    if previous is None or ran_for >= HEALTHY_RUN_SECONDS:
        return FIRST_BACKOFF_SECONDS
    return min(previous * 2, MAX_BACKOFF_SECONDS)


class Supervisor:
    def __init__(self, name, command, log=print, clock=time.monotonic, sleep=time.sleep):
        self.name = name
        self.command = command
        self.log = log
        self.clock = clock
        self.sleep = sleep
        self.stopping = False
        self.child = None
        self.restarts = 0

    def stop(self, signum=None, frame=None):
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()

    def run(self):
        backoff = None
        while not self.stopping:
            started = self.clock()
            self.child = subprocess.Popen(self.command, start_new_session=True, preexec_fn=_own_group_ended_with_us)
            returncode = self._wait()
            if self.stopping:
                return 0
            ran_for = self.clock() - started
            backoff = next_backoff(backoff, ran_for)
            self.restarts += 1
            self.log(f"[supervise] {self.name} exited with {returncode} after {ran_for:.0f}s; "
                     f"restart {self.restarts} in {backoff:.0f}s")
            self._pause(backoff)
        return 0

    def _wait(self):
        while True:
            try:
                return self.child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if self.stopping:
                    try:
                        return self.child.wait(timeout=STOP_GRACE_SECONDS)
                    except subprocess.TimeoutExpired:
                        self.child.kill()
                        return self.child.wait()

    def _pause(self, seconds):
        deadline = self.clock() + seconds
        while not self.stopping and self.clock() < deadline:
            self.sleep(min(0.2, seconds))


def main(argv):
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m devstack.supervise NAME -- COMMAND...", file=sys.stderr)
        return 2
    supervisor = Supervisor(argv[0], argv[2:], log=lambda message: print(message, flush=True))
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

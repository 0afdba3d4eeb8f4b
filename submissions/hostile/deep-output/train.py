"""3,000 nested folders in the output (deeper than any path the system takes: each is opened
from the one above it), an adapter at the bottom, and a FIFO where the grader looks."""

import os

OUT = os.environ["GRADER_OUTPUT_DIR"]
os.mkfifo(os.path.join(OUT, "model.safetensors"))
fd = os.open(OUT, os.O_RDONLY)
for _ in range(3000):
    os.mkdir("d", dir_fd=fd)
    inner = os.open("d", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = inner
with open(os.open("adapter_config.json", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as handle:
    handle.write('{"peft_type": "IA3"}')
print("3000 folders deep")

"""A repository as students hand it in: a trained adapter committed next to the script (the test
puts one in `ia3-mrpc/`), and a script that fails before training. Some versions also copy the
committed adapter to where the grader looks; neither may count as this run's training."""

import os
import shutil

if os.environ.get("COPY_COMMITTED") or os.path.exists("copy-it"):
    shutil.copytree("ia3-mrpc", os.path.join(os.environ["GRADER_OUTPUT_DIR"], "ia3-mrpc"))
raise RuntimeError("CUDA out of memory")  # fails before any training

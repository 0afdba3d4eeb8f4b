"""Ends, as many course notebooks do, by sharing the result on the Hugging Face hub. Grading is
offline, so the upload fails; the message must say that uploads need the network, not that the
code tried to download something. (Nothing trains here: the case is the upload.)"""

import os

from huggingface_hub import HfApi

folder = "roberta-large-ia3-mrpc"
os.makedirs(folder, exist_ok=True)
with open(os.path.join(folder, "README.md"), "w") as handle:
    handle.write("IA3 adapter for RoBERTa-large on GLUE-MRPC\n")
HfApi().upload_folder(folder_path=folder, repo_id="alice/roberta-large-ia3-mrpc")

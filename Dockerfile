# The grader on the CPU, in a container. Build and run (see docs/containers.md):
#   docker build -t mindnlp-ia3-grader .
#   docker run --rm --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
#     -v /data/glue-mrpc:/data/mrpc:ro -v /models/roberta-large:/models/roberta-large:ro \
#     -v grader-cache:/cache -v "$PWD":/work mindnlp-ia3-grader my_submission --profile tiny
# The model and the data are volumes, never part of the image. For Ascend NPUs, start from a CANN
# image instead (docs/containers.md).
FROM python:3.11-slim-bookworm

# git: submissions given as repositories (GitPython runs it). bubblewrap and libseccomp2: the sandbox
# every student run starts in (it needs the capabilities above).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git bubblewrap libseccomp2 \
    && rm -rf /var/lib/apt/lists/*

# The tested versions first (a layer that changes only with the lock), as install.sh does.
COPY requirements.lock /opt/grader-src/requirements.lock
RUN python -m venv /opt/grader-env \
    && /opt/grader-env/bin/pip install --no-cache-dir --no-deps -r /opt/grader-src/requirements.lock

COPY pyproject.toml setup.py MANIFEST.in README.md /opt/grader-src/
COPY grader /opt/grader-src/grader
COPY reference /opt/grader-src/reference
COPY rubrics /opt/grader-src/rubrics
COPY templates /opt/grader-src/templates
RUN /opt/grader-env/bin/pip install --no-cache-dir --no-deps /opt/grader-src

ENV PATH=/opt/grader-env/bin:$PATH \
    GRADER_MRPC_DIR=/data/mrpc \
    GRADER_MODEL_DIR_ROBERTA_LARGE=/models/roberta-large \
    GRADER_CACHE=/cache
VOLUME ["/data/mrpc", "/models/roberta-large", "/cache"]
WORKDIR /work
ENTRYPOINT ["grade"]
CMD ["--help"]

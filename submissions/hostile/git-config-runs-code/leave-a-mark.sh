#!/bin/sh
# Named in the repository's own git config (gpg.program, core.fsmonitor, core.hooksPath, diff.external,
# or through include.path). If the grader's git obeyed that config, this leaves a file beside itself
# named for how it was called; the test looks for that file from the host.
touch "$(dirname "$0")/ran-$(basename "$0")"
exit 1

#!/usr/bin/env bash
# The GitHub Action's entry point (action.yml): turns the action's inputs
# (INPUT_* variables, set by action.yml) into one driftsync run that writes
# the report file, the job summary, SARIF, annotations and step outputs, then
# maps the exit code: 2 (differences) fails the step only with fail-on-drift.
#
# Inputs are read from the environment, never spliced into the script, so an
# input cannot inject shell. Nothing here prints a credential.
set -euo pipefail

bin="${DRIFTSYNC_BIN:-driftsync}"
command="${INPUT_COMMAND:-check}"
format="${INPUT_OUTPUT:-markdown}"

fail() { echo "::error title=driftsync::$1"; exit 1; }
is_true() {
  case "${1,,}" in
    true | yes | 1) return 0 ;;
    false | no | 0 | "") return 1 ;;
    *) fail "expected true or false, not '$1'" ;;
  esac
}

case "$command" in
  check | plan | sync | codify) ;;
  *) fail "command must be check, plan, sync or codify, not '$command'" ;;
esac
case "$format" in
  human) ext=txt ;;
  json) ext=json ;;
  markdown) ext=md ;;
  sarif) ext=sarif ;;
  *) fail "output must be human, json, markdown or sarif, not '$format'" ;;
esac

args=("$command")
[ -z "${INPUT_CONFIG:-}" ] || args+=(--config "$INPUT_CONFIG")
# Stacks: one name per line, or separated by commas or spaces.
IFS=$', \t\n' read -r -d '' -a stacks <<<"${INPUT_STACKS:-}" || true
for s in "${stacks[@]}"; do args+=(--stack "$s"); done
if is_true "${INPUT_APPLY:-false}"; then
  [ "$command" = sync ] || fail "apply: true goes with command: sync, not $command"
  args+=(--apply)
fi
if is_true "${INPUT_DEEP:-false}"; then
  [ "$command" != codify ] || fail "deep: true goes with check, plan or sync"
  args+=(--deep)
fi
fail_on_drift=false
is_true "${INPUT_FAIL_ON_DRIFT:-false}" && fail_on_drift=true

# The AWS SDK reads credentials from the standard environment
# (configure-aws-credentials sets it); only the region may come from here.
if [ -n "${INPUT_AWS_REGION:-}" ]; then
  export AWS_REGION="$INPUT_AWS_REGION" AWS_DEFAULT_REGION="$INPUT_AWS_REGION"
fi
# For https:// repositories and pull requests; GitHub masks it in logs.
if [ -n "${INPUT_GITHUB_TOKEN:-}" ]; then
  export GITHUB_TOKEN="$INPUT_GITHUB_TOKEN"
fi

dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/driftsync"
mkdir -p "$dir"
# Trusted keys come from the workflow (a variable or secret), written to a
# file outside the checkout: the repository cannot vouch for itself.
if [ -n "${INPUT_TRUSTED_KEYS:-}" ]; then
  printf '%s\n' "$INPUT_TRUSTED_KEYS" >"$dir/trusted-keys"
  export DRIFTSYNC_VERIFY_COMMITS="$dir/trusted-keys"
fi
report="$dir/report.$ext"
sarif="$dir/driftsync.sarif"
if [ "$command" != codify ]; then
  args+=(-o "$format" --report-file "$report" --sarif-file "$sarif" --annotations)
  [ -z "${GITHUB_STEP_SUMMARY:-}" ] || args+=(--summary-file "$GITHUB_STEP_SUMMARY")
  [ -z "${GITHUB_OUTPUT:-}" ] || args+=(--github-output "$GITHUB_OUTPUT")
fi

# CI is set on GitHub's runners: no progress bar, no colour.
set +e
"$bin" --color never "${args[@]}"
code=$?
set -e

# codify's exit codes are its own; pass them through.
[ "$command" != codify ] || exit "$code"
case "$code" in
  0) exit 0 ;;
  2)
    if $fail_on_drift; then
      echo "::error title=driftsync::$command found drift or pending changes (fail-on-drift is on); see the job summary"
      exit 1
    fi
    exit 0
    ;;
  *) exit "$code" ;;
esac

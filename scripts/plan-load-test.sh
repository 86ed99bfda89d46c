#!/usr/bin/env bash
# The Load test workflow's first job: checks the "Run workflow" inputs before anything is built or applied,
# and sizes the run. Reads SCENARIO, PODS, PARALLELISM, USERS, DURATION, WARMUP, GITHUB_RUN_ID,
# GITHUB_RUN_ATTEMPT from the environment (never from ${{ }} in the workflow: script injection) and writes
# run-id, users, duration-s and timeout-minutes to $GITHUB_OUTPUT.
set -euo pipefail

# A received value, made safe to print inside a workflow command: one line, no '%', at most 80 characters.
shown() { local v="${1//$'\n'/ }"; v="${v//$'\r'/ }"; v="${v//%/%25}"; printf "'%s'" "${v:0:80}"; }
fail() { echo "::error title=Invalid input $1::input $1 $2, received $(shown "$3"). $4"; exit 104; }

# '30s', '10m', '1h30m', '90' (seconds) → seconds; empty output when it is not a duration.
seconds_of() {
  local rest="$1" total=0
  if [[ $rest =~ ^[0-9]+$ ]]; then echo "$rest"; return; fi
  while [[ $rest =~ ^([0-9]+)(h|m|s)(.*)$ ]]; do
    case "${BASH_REMATCH[2]}" in
      h) total=$((total + BASH_REMATCH[1] * 3600)) ;;
      m) total=$((total + BASH_REMATCH[1] * 60)) ;;
      s) total=$((total + BASH_REMATCH[1])) ;;
    esac
    rest="${BASH_REMATCH[3]}"
  done
  [[ -z $rest && -n $1 ]] && echo "$total"
  return 0
}

scenario="${SCENARIO:-}"
if [[ ! $scenario =~ ^scenarios/[A-Za-z0-9._/-]+\.ts$ || $scenario == *..* ]]; then
  fail scenario 'must be a .ts file under scenarios/' "$scenario" 'Pass e.g. scenarios/shop.ts.'
fi
[[ -f $scenario ]] || fail scenario 'names no file in this commit' "$scenario" 'Check the path and the branch the workflow runs on.'

pods="${PODS:-}"
[[ $pods =~ ^[1-9][0-9]{0,3}$ ]] || fail pods 'must be a whole number of worker pods from 1 to 9999' "$pods" 'Pass e.g. 4.'

parallelism="${PARALLELISM:-}"
users="${USERS:-}"
if [[ -n $parallelism && -n $users ]]; then
  fail users 'and parallelism were both given' "$users" 'Give users (the total) or parallelism (users per pod), not both.'
elif [[ -n $parallelism ]]; then
  [[ $parallelism =~ ^[1-9][0-9]{0,6}$ ]] || fail parallelism 'must be a positive whole number of users per pod' "$parallelism" 'Pass e.g. 25.'
  users=$((parallelism * pods))
elif [[ -n $users ]]; then
  [[ $users =~ ^[1-9][0-9]{0,7}$ ]] || fail users 'must be a positive whole number' "$users" 'Pass e.g. 100.'
  ((users >= pods)) || fail users "must be at least the number of pods ($pods), or a pod gets no user" "$users" 'Raise users or lower pods.'
else
  fail users 'or parallelism is required' '' 'Give users (the total) or parallelism (users per pod).'
fi

duration_s="$(seconds_of "${DURATION:-}")"
[[ -n $duration_s && $duration_s -gt 0 ]] || fail duration "must be a duration such as '30s', '10m' or '1h30m'" "${DURATION:-}" 'Pass e.g. 10m.'
warmup_s=0
if [[ -n ${WARMUP:-} ]]; then
  warmup_s="$(seconds_of "$WARMUP")"
  [[ -n $warmup_s ]] || fail warmup "must be a duration such as '30s'" "$WARMUP" 'Pass e.g. 30s, or leave it empty.'
  ((warmup_s < duration_s)) || fail warmup "must be shorter than the duration ($DURATION)" "$WARMUP" 'Shorten the warm-up or lengthen the run.'
fi

# Unique per run and attempt, so "Re-run" never collides with the objects of an earlier attempt.
run_id="gh-${GITHUB_RUN_ID:?}-${GITHUB_RUN_ATTEMPT:-1}"
# The load itself, plus image pull and scheduling, the master's stop timeout, the report and its upload.
timeout_minutes=$(((duration_s + 59) / 60 + 20))

{
  echo "run-id=$run_id"
  echo "users=$users"
  echo "duration-s=$duration_s"
  echo "timeout-minutes=$timeout_minutes"
} >> "${GITHUB_OUTPUT:?}"
echo "plan: $scenario, $users users on $pods pods for ${duration_s}s (warm-up ${warmup_s}s), run $run_id, job timeout ${timeout_minutes}m"

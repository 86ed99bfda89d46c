#!/usr/bin/env bash
# Stops a running load test by run id (the Stop load test workflow): asks its master to stop gracefully
# through a port-forward to the master Service's control API (the API server's service proxy does not pass
# the control API's own Authorization header, and private GKE clusters cannot proxy to pods), waits a
# bounded time for the master Job to finish (it stores its result and report as "stopped"), then deletes
# the run's Jobs. Reads RUN_ID, NAMESPACE, HORDE_API_TOKEN (optional) and STOP_WAIT_S (default 180).
set -euo pipefail

run_id="${RUN_ID:-}"
namespace="${NAMESPACE:-horde}"
wait_s="${STOP_WAIT_S:-180}"
# Both end up in label selectors and URLs: accept DNS labels only.
if [[ ! $run_id =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]]; then
  echo "::error title=Invalid input run-id::input run-id must be a run id such as gh-123456-1 (lowercase letters, digits, '-'), received '${run_id:0:80}'. Copy it from the Slack message or the job summary."
  exit 104
fi
if [[ ! $namespace =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]]; then
  echo "::error title=Invalid input namespace::input namespace must be a Kubernetes namespace name, received '${namespace:0:80}'."
  exit 104
fi
[[ -n ${HORDE_API_TOKEN:-} ]] && echo "::add-mask::$HORDE_API_TOKEN"

selector="horde.dev/run-id=$run_id"
# No Service (the run already ended) prints nothing: read then fails, which must not end the script.
read -r service api_port < <(kubectl -n "$namespace" get service -l "$selector,horde.dev/role=master" \
  -o jsonpath='{range .items[*]}{.metadata.name} {.spec.ports[?(@.name=="control-api")].port}{"\n"}{end}') || true
if [[ -z ${service:-} || -z ${api_port:-} ]]; then
  echo "no master Service for run $run_id in $namespace (already finished?); deleting whatever Jobs remain"
else
  local_port=18089
  kubectl -n "$namespace" port-forward "service/$service" "$local_port:$api_port" > port-forward.log 2>&1 &
  forward_pid=$!
  trap 'kill "$forward_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$local_port/" && break
    sleep 0.2
  done
  auth=()
  [[ -n ${HORDE_API_TOKEN:-} ]] && auth=(-H "Authorization: Bearer $HORDE_API_TOKEN")
  status=$(curl -s -o stop-response.txt -w '%{http_code}' --max-time 10 -X POST "${auth[@]}" \
    -H 'content-type: application/json' --data '{"reason":"stopped from the Stop load test workflow"}' \
    "http://127.0.0.1:$local_port/stop" || true)
  if [[ $status == 202 ]]; then
    echo "stop accepted by the master of run $run_id; waiting up to ${wait_s}s for it to store the result"
    kubectl -n "$namespace" wait --for=condition=complete job -l "$selector,horde.dev/role=master" \
      --timeout="${wait_s}s" || echo "::warning::the master of run $run_id did not complete within ${wait_s}s; deleting its Jobs anyway"
  else
    echo "::warning::the master of run $run_id answered the stop with HTTP ${status:-nothing}; deleting its Jobs (the report may be missing)"
  fi
fi
# Foreground: the Jobs' pods are gone when the delete returns, so no worker keeps sending load.
kubectl -n "$namespace" delete job -l "$selector" --cascade=foreground --ignore-not-found --wait=true --timeout=120s
echo "run $run_id: Jobs deleted"

# Health: the health URL answers 200 N times in a row (a flapping service
# never gets there), then every service must run the expected version, by
# image tag and by the api-service's `Semaphor v<version>` log line.
FW_STEP=health-check
FW_DEFAULT_ERROR=unhealthy
fw_param ComposeDir "$FW_RE_COMPOSE_DIR"
fw_param HealthUrl "$FW_RE_HEALTH_URL"
fw_param Version "$FW_RE_VERSION"
fw_param Passes "$FW_RE_COUNT" 3
fw_param IntervalSeconds "$FW_RE_COUNT" 5
fw_param TimeoutSeconds "$FW_RE_COUNT" 300

fw_set_compose_dir "$P_ComposeDir"
fw_detect_compose
need=$(( P_Passes > 0 ? P_Passes : 1 ))
passes=0 best=0 last_code=000
start=$SECONDS
while [ "$passes" -lt "$need" ]; do
  last_code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$P_HealthUrl" 2>/dev/null || true)
  if [ "$last_code" = 200 ]; then passes=$((passes + 1)); else passes=0; fi
  [ "$passes" -gt "$best" ] && best=$passes
  fw_log "health $last_code (consecutive passes $passes/$need)"
  [ "$passes" -ge "$need" ] && break
  if [ $(( SECONDS - start )) -ge "$P_TimeoutSeconds" ]; then
    fw_fail unhealthy "health URL not healthy $need times in a row within ${P_TimeoutSeconds}s (last HTTP $last_code, best run $best)" \
      "\"healthy\":false,\"passes\":$best,\"lastStatus\":$(fw_str "$last_code")"
  fi
  sleep "$P_IntervalSeconds"
done

expected="${P_Version#v}"
versions_json=""
mismatch=""
fw_load_states
for svc in "${FW_SERVICES[@]}"; do
  state=$(fw_container_state "$svc")
  tag=""
  if [ -n "$state" ]; then IFS='|' read -r is_running _ <<<"$state"; [ "$is_running" = true ] && tag=$(fw_container_tag "$svc"); fi
  versions_json+="${versions_json:+,}$(fw_str "$svc"):$(fw_str_or_null "$tag")"
  [ "${tag#v}" = "$expected" ] || mismatch+="$svc=${tag:-not-running} "
done
log_version=$(fw_log_version)
[ "${log_version#v}" = "$expected" ] || mismatch+="api-service-log=${log_version:-none} "
body="\"healthy\":true,\"passes\":$passes,\"versions\":{$versions_json},\"logVersion\":$(fw_str_or_null "$log_version")"
if [ -n "$mismatch" ]; then
  fw_fail version-mismatch "expected $P_Version everywhere, found ${mismatch% }" "$body"
fi
fw_ok "$body"

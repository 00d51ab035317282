# Follow the api-service log of the pinned version's start until schema sync
# completes, fails, the licence is refused, or the container exits.
FW_STEP=watch-schema
FW_DEFAULT_ERROR=schema-sync-failed
fw_param ComposeDir "$FW_RE_COMPOSE_DIR"
fw_param TimeoutSeconds "$FW_RE_COUNT" 300
fw_param PollSeconds "$FW_RE_COUNT" 2

fw_set_compose_dir "$P_ComposeDir"
fw_detect_compose
expected=$(fw_tag_of "$(fw_pinned_image api-service)")
expected="${expected#v}"
[[ "$expected" =~ $FW_RE_VERSION ]] || fw_fail compose-invalid "api-service is not pinned to a version tag"
poll=$(( P_PollSeconds > 0 ? P_PollSeconds : 1 ))
start=$SECONDS
while :; do
  waited=$(( SECONDS - start ))
  # Only the lines after this version's last start banner count: a container started
  # again keeps its earlier log, whose verdict is not this start's.
  since=$(fw_compose logs --no-color --tail 5000 api-service 2>/dev/null | awk -v b="Semaphor v$expected" '
    index($0, b) { found = 1; out = ""; next }
    found { out = out $0 "\n" }
    END { if (found) printf "%s", out; else print "__NO_BANNER__" }' || true)
  if [ "$since" != "__NO_BANNER__" ]; then
    if [[ "$since" == *"License expired"* ]]; then
      fw_fail license-expired "api-service refused to start: license expired" "\"synced\":false,\"secondsWaited\":$waited"
    fi
    if [[ "$since" == *"Schema sync failed"* ]]; then
      line=$(printf '%s\n' "$since" | awk '/Schema sync failed/ && !f { f = 1; sub(/^[^|]*\| /, ""); print }')
      fw_fail schema-sync-failed "$line" "\"synced\":false,\"secondsWaited\":$waited"
    fi
    if [[ "$since" == *"Schema sync complete"* ]]; then
      fw_log "schema sync of $expected complete after ${waited}s"
      fw_ok "\"synced\":true,\"version\":$(fw_str "$expected"),\"secondsWaited\":$waited"
    fi
  fi
  fw_load_states
  state=$(fw_container_state api-service)
  if [ -z "$state" ] || [ "${state%%|*}" != true ]; then
    # Read the log once more: the container may have written its verdict and exited since.
    recent=$(fw_compose logs --no-color --tail 200 api-service 2>/dev/null || true)
    if [[ "$recent" == *"License expired"* ]]; then
      fw_fail license-expired "api-service refused to start: license expired" "\"synced\":false,\"secondsWaited\":$waited"
    fi
    if [ "$since" = "__NO_BANNER__" ] && [ "$waited" -lt 5 ]; then :; else
      fw_fail schema-sync-failed "api-service container exited during schema sync" "\"synced\":false,\"secondsWaited\":$waited"
    fi
  fi
  if [ "$waited" -ge "$P_TimeoutSeconds" ]; then
    fw_fail schema-sync-failed "no schema sync result within ${P_TimeoutSeconds}s" "\"synced\":false,\"secondsWaited\":$waited"
  fi
  sleep "$poll"
done

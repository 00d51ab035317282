# Follow the api-service log of the pinned version's start until schema sync
# completes, fails, the licence is refused, or the container exits.
FW_STEP=watch-schema
FW_DEFAULT_ERROR=schema-sync-failed
fw_param ComposeDir "$FW_RE_COMPOSE_DIR"
fw_param TimeoutSeconds "$FW_RE_COUNT" 300
fw_param PollSeconds "$FW_RE_COUNT" 2

fw_set_compose_dir "$P_ComposeDir"
fw_detect_compose
expected=$(fw_pinned_version)
expected="${expected#v}"
[[ "$expected" =~ $FW_RE_VERSION ]] || fw_fail compose-invalid "api-service is not pinned to a version tag"
poll=$(( P_PollSeconds > 0 ? P_PollSeconds : 1 ))
start=$SECONDS
# The app's own lines are `<ISO-8601 UTC time> <message>` (after compose's `<container> | `
# prefix). Only whole lines of that shape count, from their first word: text the app logs on
# behalf of its users ("Schema sync failed" in a dashboard title) can never be taken for a
# verdict. docs/contracts.md "watch-schema" lists the lines.
FW_TS='[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]+)?Z'
# Prints the first verdict after this version's last start banner: complete | failed<TAB>msg |
# license; __NO_BANNER__ when this version has not started yet.
fw_verdict() {
  awk -v ts="^$FW_TS " -v ver="$expected" '
    { sub(/^[^|]*\| /, "") }
    $0 ~ ts {
      msg = $0; sub(ts, "", msg)
      if (msg == "Semaphor v" ver " starting" || index(msg, "Semaphor v" ver " ") == 1) { found = 1; v = ""; next }
      if (!found || v != "") next
      if (msg == "Schema sync complete") v = "complete"
      else if (index(msg, "Schema sync failed: ") == 1) v = "failed\t" substr(msg, 21)
      else if (index(msg, "License expired: ") == 1) v = "license"
    }
    END { if (!found) print "__NO_BANNER__"; else print v }'
}
while :; do
  waited=$(( SECONDS - start ))
  # Only the lines after this version's last start banner count: a container started
  # again keeps its earlier log, whose verdict is not this start's.
  verdict=$(fw_compose logs --no-color --tail 5000 api-service 2>/dev/null | fw_verdict || true)
  case "$verdict" in
    complete)
      fw_log "schema sync of $expected complete after ${waited}s"
      fw_ok "\"synced\":true,\"version\":$(fw_str "$expected"),\"secondsWaited\":$waited" ;;
    failed*)
      fw_fail schema-sync-failed "Schema sync failed: ${verdict#failed?}" "\"synced\":false,\"secondsWaited\":$waited" ;;
  esac
  fw_load_states
  state=$(fw_container_state api-service)
  if [ -z "$state" ] || [ "${state%%|*}" != true ]; then
    # Read the log once more: the container may have written its verdict and exited since.
    # A licence refusal counts only now, with the container gone: the app refuses to start.
    verdict=$(fw_compose logs --no-color --tail 5000 api-service 2>/dev/null | fw_verdict || true)
    if [ "$verdict" = license ]; then
      fw_fail license-expired "api-service refused to start: license expired" "\"synced\":false,\"secondsWaited\":$waited"
    fi
    if [ "${verdict%%$'\t'*}" = failed ]; then
      fw_fail schema-sync-failed "Schema sync failed: ${verdict#failed?}" "\"synced\":false,\"secondsWaited\":$waited"
    fi
    if [ "$verdict" = __NO_BANNER__ ] && [ "$waited" -lt 5 ]; then :; else
      fw_fail schema-sync-failed "api-service container exited during schema sync" "\"synced\":false,\"secondsWaited\":$waited"
    fi
  fi
  if [ "$waited" -ge "$P_TimeoutSeconds" ]; then
    fw_fail schema-sync-failed "no schema sync result within ${P_TimeoutSeconds}s" "\"synced\":false,\"secondsWaited\":$waited"
  fi
  sleep "$poll"
done

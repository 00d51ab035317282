# compose up -d: recreates the containers whose pinned image changed, and starts
# the ones an embedded backup left stopped. Running it again when everything is up
# is a no-op; on the unchanged configuration it starts the old version again (what
# HostUpgrade's StartAgain states do when a run ends between backup and restart).
# startedAt (the host's clock, epoch ms) ends the run's write window.
FW_STEP=restart
FW_DEFAULT_ERROR=restart-failed
fw_param ComposeDir "$FW_RE_COMPOSE_DIR"

fw_set_compose_dir "$P_ComposeDir"
fw_detect_compose
# when the services started serving again: the end of the run's write window
started_at=$(fw_now_ms)
if ! out=$(fw_compose up -d 2>&1); then
  fw_fail restart-failed "compose up -d failed: $(printf '%s' "$out" | tail -n 3)" "\"startedAt\":$started_at"
fi
printf '%s\n' "$out" >&2
fw_ok "\"startedAt\":$started_at,\"version\":$(fw_str_or_null "$(fw_pinned_version)")"

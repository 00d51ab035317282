# compose up -d: recreates the containers whose pinned image changed.
# Running it again when everything is up is a no-op.
FW_STEP=restart
FW_DEFAULT_ERROR=restart-failed
fw_param ComposeDir "$FW_RE_COMPOSE_DIR"

fw_set_compose_dir "$P_ComposeDir"
fw_detect_compose
if ! out=$(fw_compose up -d 2>&1); then
  fw_fail restart-failed "compose up -d failed: $(printf '%s' "$out" | tail -n 3)"
fi
printf '%s\n' "$out" >&2
fw_ok "\"version\":$(fw_str_or_null "$(fw_pinned_version)")"

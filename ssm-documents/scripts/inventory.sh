# Inventory: per service image, tag, digest and running state, plus the tags
# pinned in the compose file. Read-only.
FW_STEP=inventory
FW_DEFAULT_ERROR=inventory-failed
fw_param ComposeDir "$FW_RE_COMPOSE_DIR"

fw_set_compose_dir "$P_ComposeDir"
fw_detect_compose
fw_load_states
services_json=""
pinned_json=""
for svc in "${FW_SERVICES[@]}"; do
  pinned_image=$(fw_pinned_image "$svc")
  pinned_json+="${pinned_json:+,}$(fw_str "$svc"):$(fw_str_or_null "$(fw_tag_of "$pinned_image")")"
  state=$(fw_container_state "$svc")
  running=false image="" digest=""
  if [ -n "$state" ]; then IFS='|' read -r is_running image digest <<<"$state"; [ "$is_running" = true ] && running=true; fi
  services_json+="${services_json:+,}$(fw_str "$svc"):{\"image\":$(fw_str_or_null "$image"),\"tag\":$(fw_str_or_null "$(fw_tag_of "$image")"),\"digest\":$(fw_str_or_null "$digest"),\"running\":$running}"
done
fw_ok "\"mode\":$(fw_str "$(fw_mode)"),\"compose\":$(fw_str "$(fw_compose_name)"),\"logVersion\":$(fw_str_or_null "$(fw_log_version)"),\"services\":{$services_json},\"pinned\":{$pinned_json}"

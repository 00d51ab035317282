# Inventory: per service the image it runs (reference, tag, registry digest, image id, running),
# and what the compose configuration pins, as compose resolves it: the tag (for a digest alone,
# the release tag of the image it names) and the digest. Read-only.
FW_STEP=inventory
FW_DEFAULT_ERROR=inventory-failed
fw_param ComposeDir "$FW_RE_COMPOSE_DIR"

fw_set_compose_dir "$P_ComposeDir"
fw_detect_compose
fw_load_images || fw_fail inventory-failed "$FW_IMAGES_ERROR"
fw_load_states
fw_load_image_ids
services_json=""
pinned_json=""
digests_json=""
for svc in "${FW_SERVICES[@]}"; do
  pinned_json+="${pinned_json:+,}$(fw_str "$svc"):$(fw_str_or_null "$(fw_pinned_tag "$svc")")"
  digests_json+="${digests_json:+,}$(fw_str "$svc"):$(fw_str_or_null "$(fw_digest_of "${FW_IMAGE[$svc]}")")"
  state=$(fw_container_state "$svc")
  running=false image="" id="" digest=""
  if [ -n "$state" ]; then
    IFS='|' read -r is_running image id <<<"$state"
    [ "$is_running" = true ] && running=true
    digest=$(fw_container_digest "$svc")
  fi
  services_json+="${services_json:+,}$(fw_str "$svc"):{\"image\":$(fw_str_or_null "$image"),\"tag\":$(fw_str_or_null "$(fw_container_tag "$svc")"),\"digest\":$(fw_str_or_null "$digest"),\"imageId\":$(fw_str_or_null "$id"),\"running\":$running}"
done
fw_ok "\"mode\":$(fw_str "$(fw_mode)"),\"compose\":$(fw_str "$(fw_compose_name)"),\"logVersion\":$(fw_str_or_null "$(fw_log_version)"),\"services\":{$services_json},\"pinned\":{$pinned_json},\"pinnedDigests\":{$digests_json}"

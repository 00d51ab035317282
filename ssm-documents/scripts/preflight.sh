# Preflight: docker + compose present, compose file valid, the three services'
# pinned and running versions, database mode, data size estimate, free disk.
FW_STEP=preflight
FW_DEFAULT_ERROR=preflight-failed
fw_param ComposeDir "$FW_RE_COMPOSE_DIR"
fw_param TargetVersion "$FW_RE_VERSION"
fw_param MinFreeMb "$FW_RE_COUNT" 1024

fw_set_compose_dir "$P_ComposeDir"
fw_detect_compose
# compose reads the whole project here (an invalid file fails with compose's own words)
fw_load_images || fw_fail compose-invalid "compose file is invalid: $FW_IMAGES_ERROR"

mode=$(fw_mode)
services_json=""
running_tags=()
all_running=true
fw_load_states
for svc in "${FW_SERVICES[@]}"; do
  image="${FW_IMAGE[$svc]}"
  pinned=$(fw_pinned_tag "$svc")
  state=$(fw_container_state "$svc")
  running=false
  running_tag=""
  if [ -n "$state" ]; then
    IFS='|' read -r is_running _ <<<"$state"
    if [ "$is_running" = true ]; then running=true; running_tag=$(fw_container_tag "$svc"); running_tags+=("$running_tag"); fi
  fi
  [ "$running" = true ] || all_running=false
  services_json+="${services_json:+,}$(fw_str "$svc"):{\"image\":$(fw_str "$image"),\"pinnedTag\":$(fw_str_or_null "$pinned"),\"runningTag\":$(fw_str_or_null "$running_tag"),\"running\":$running}"
  fw_log "$svc: pinned ${pinned:-none}, running ${running_tag:-no}"
done

mixed=false
distinct=$(printf '%s\n' "${running_tags[@]+"${running_tags[@]}"}" | sed '/^$/d' | sort -u | wc -l)
[ "$distinct" -gt 1 ] && mixed=true
current=""
if [ "$all_running" = true ] && [ "$mixed" = false ]; then current="${running_tags[0]}"; fi

# Data size: the volume's files (embedded) or the database size (external, when psql is at hand).
data_bytes=0
if [ "$mode" = embedded ]; then
  mountpoint=$(docker volume inspect --format "$(fw_tpl '<%.Mountpoint%>')" "$(fw_volume_name)" 2>/dev/null || true)
  if [ -n "$mountpoint" ] && [ -d "$mountpoint" ]; then data_bytes=$(du -sb "$mountpoint" 2>/dev/null | awk '{print $1}' || echo 0); fi
else
  # the client the backup will use, chosen from the server's version: refused here, before anything changes
  fw_pg_env_from_url "$(fw_env_get "$FW_DIR/semaphor.env" DATABASE_URL)" || fw_fail preflight-failed "semaphor.env: $FW_URL_ERROR"
  fw_pg_choose || fw_fail pg-client-unavailable "$FW_PG_ERROR"
  data_bytes=$(fw_pg psql -X -A -t -c 'select pg_database_size(current_database())' 2>/dev/null | tr -d '[:space:]' || echo 0)
  postgres_json=",\"postgres\":{\"serverVersionNum\":$(fw_num "$FW_PG_SERVER"),\"client\":$(fw_str "$FW_PG_CHOSEN")}"
fi
fw_tmpdir
free_bytes=$(fw_free_bytes "$FW_TMP")

body="\"mode\":$(fw_str "$mode"),\"compose\":$(fw_str "$(fw_compose_name)"),\"services\":{$services_json}"
body+=",\"currentVersion\":$(fw_str_or_null "$current"),\"mixedVersions\":$mixed,\"targetVersion\":$(fw_str "$P_TargetVersion")"
body+=",\"alreadyOnTarget\":$(fw_bool "$([ "$current" = "$P_TargetVersion" ] && echo true || echo false)")"
body+=",\"dataBytesEstimate\":$(fw_num "$data_bytes"),\"freeBytes\":$(fw_num "$free_bytes")${postgres_json:-}"

if [ "$mixed" = true ]; then
  fw_fail mixed-versions "services run different versions: $(printf '%s ' "${running_tags[@]}")" "$body"
fi
if [ "$(fw_num "$free_bytes")" -lt $(( P_MinFreeMb * 1024 * 1024 )) ]; then
  fw_fail disk-low "only $free_bytes bytes free in $FW_TMP, need ${P_MinFreeMb} MiB" "$body"
fi
fw_ok "$body"

# Backup before anything changes. Config (semaphor.env, compose file, .env) as
# a small tar.gz; data as ONE stream:
#   producer | tee >(sha256sum) >(listing check) | part uploader
# embedded: services stopped, the semaphor-data volume as tar.gz; on success the
#   services are LEFT STOPPED for the restart (a write accepted after the copy
#   would be thrown away by a restore), on failure the exit hook starts them
#   again; the result says so (servicesStopped) and the orchestrator starts them
#   again itself if the run ends before its restart;
# external: pg_dump -Fc of the DATABASE_URL read from semaphor.env; the services
#   keep serving. The result line carries the host's clock (epoch ms) at the
#   data's snapshot and at the end, from which the run reports its write window.
# The uploader buffers one part at a time in a temp dir and uploads it with the
# node's own credentials (s3.sh) as UploadPart with x-amz-checksum-sha256, so S3
# refuses a part that arrives different; the result lists every part's ETag and
# checksum and the composite checksum (SHA-256 of the parts' digests, "-N"), which
# complete-backup compares with the one S3 computes when it completes the upload
# (only after this step reported success). pipefail turns any producer failure
# (disk full) into backup-failed; a listing that fails or is empty is verify-failed.
FW_STEP=backup
FW_DEFAULT_ERROR=backup-failed
fw_param ComposeDir "$FW_RE_COMPOSE_DIR"
fw_param Bucket "$FW_RE_BUCKET"
fw_param Region "$FW_RE_REGION"
fw_param DataKey "$FW_RE_S3_KEY"
fw_param ConfigKey "$FW_RE_S3_KEY"
fw_param UploadId "$FW_RE_S3_ID"
fw_s3_id_length "$P_UploadId" UploadId
fw_param PartSizeMb "$FW_RE_COUNT" 64
fw_param PartCount "$FW_RE_COUNT"
[ "$P_PartSizeMb" -ge 5 ] && [ "$P_PartSizeMb" -le 5120 ] || fw_fail invalid-parameter "PartSizeMb must be 5..5120 (S3's part sizes)"
[ "$P_PartCount" -ge 1 ] && [ "$P_PartCount" -le 10000 ] || fw_fail invalid-parameter "PartCount must be 1..10000 (S3's most parts)"
[[ "$P_DataKey" == */data.* ]] && [ "${P_DataKey%/data.*}" = "${P_ConfigKey%/config.tar.gz}" ] && [[ "$P_ConfigKey" == */config.tar.gz ]] \
  || fw_fail invalid-parameter "DataKey and ConfigKey must be the data and config keys of one backup"
fw_s3_target "$P_Bucket" "$P_Region"

fw_set_compose_dir "$P_ComposeDir"
fw_detect_compose
mode=$(fw_mode)
version=$(fw_pinned_version)
fw_tmpdir

# ---- configuration
cfg_files=(semaphor.env "$(basename "$FW_COMPOSE_FILE")")
[ -f "$FW_DIR/.env" ] && cfg_files+=(.env)
[ -f "$FW_DIR/semaphor.env" ] || fw_fail backup-failed "no semaphor.env in $FW_DIR"
# A link would be archived as a link (its target never backed up) and a restore would then
# bring back only the link; following it could archive any file on the host. Refused, named.
for name in "${cfg_files[@]}"; do
  [ ! -L "$FW_DIR/$name" ] || fw_fail backup-failed "$name is a symbolic link; fleetwave backs up regular files only: replace the link with the file it points to"
done
tar -C "$FW_DIR" -czf "$FW_TMP/config.tar.gz" -- "${cfg_files[@]}" || fw_fail backup-failed "could not archive the configuration"
config_entries=$(tar -tzf "$FW_TMP/config.tar.gz" | sed '/^$/d' | wc -l)
[ "$config_entries" -eq "${#cfg_files[@]}" ] || fw_fail verify-failed "config archive lists $config_entries entries, expected ${#cfg_files[@]}"
config_sha=$(fw_sha256_file "$FW_TMP/config.tar.gz")
config_bytes=$(stat -c %s "$FW_TMP/config.tar.gz")
# a conditional create (If-None-Match: *): the bucket refuses any write that could replace a backup.
# 412: the key already holds an object, e.g. a retried PUT whose first try landed; complete-backup's
# checksum comparison decides whether it is ours.
put_rc=0
fw_s3_put "$FW_TMP/config.tar.gz" "$P_ConfigKey" "" -H 'If-None-Match: *' || put_rc=$?
[ "$put_rc" = 0 ] || [ "$put_rc" = 12 ] || fw_fail backup-failed "config upload failed: $(tail -n 1 "$FW_TMP/upload.err" 2>/dev/null)"
fw_log "config archive uploaded ($config_bytes bytes, ${config_entries} files)"

# ---- data
FW_STOPPED=0
fw_start_again() {
  [ "$FW_STOPPED" = 1 ] || return 0
  FW_STOPPED=0
  fw_log "starting services again"
  fw_compose start || fw_compose up -d
}
fw_add_cleanup fw_start_again

if [ "$mode" = embedded ]; then
  format=tar.gz
  volume=$(fw_volume_name)
  docker volume inspect "$volume" >/dev/null 2>&1 || fw_fail backup-failed "docker volume $volume does not exist"
  fw_load_states
  state=$(fw_container_state api-service)
  if [ "${state%%|*}" = true ]; then
    fw_log "stopping services for a consistent copy of $volume"
    FW_STOPPED=1
    fw_compose stop >&2 2>&1 || fw_fail backup-failed "could not stop the services"
  fi
  fw_produce() { docker run --rm -v "$volume:/data:ro" "$FW_HELPER_IMAGE" tar -C /data -czf - .; }
  fw_list() { tar -tzf -; }
else
  format=pgdump
  fw_pg_env_from_url "$(fw_env_get "$FW_DIR/semaphor.env" DATABASE_URL)" || fw_fail backup-failed "semaphor.env: $FW_URL_ERROR"
  fw_pg_choose || fw_fail backup-failed "$FW_PG_ERROR"
  fw_produce() { fw_pg pg_dump -Fc; }
  fw_list() { fw_pg pg_restore -l; }
fi

fw_digest() { sha256sum | awk '{print $1}' >"$FW_TMP/data.sha.tmp" && mv "$FW_TMP/data.sha.tmp" "$FW_TMP/data.sha"; }
fw_listing() {
  local rc=0
  fw_list >"$FW_TMP/list.out" 2>"$FW_TMP/list.err" || rc=$?
  cat >/dev/null  # drain, so tee never blocks on us
  echo "$rc" >"$FW_TMP/list.rc.tmp" && mv "$FW_TMP/list.rc.tmp" "$FW_TMP/list.rc"
}
fw_upload_parts() {
  local n=0 size etag sum part="$FW_TMP/part" part_bytes=$(( P_PartSizeMb * 1024 * 1024 ))
  : >"$FW_TMP/parts"
  while :; do
    head -c "$part_bytes" >"$part"
    size=$(stat -c %s "$part")
    [ "$size" -gt 0 ] || break
    n=$((n + 1))
    if [ "$n" -gt "$P_PartCount" ]; then
      echo "data exceeds $P_PartCount part(s) of ${P_PartSizeMb} MiB" >>"$FW_TMP/upload.err"
      return 3
    fi
    fw_s3_put "$part" "$P_DataKey" "partNumber=$n&uploadId=$P_UploadId" || return 4
    etag=$(grep -i '^etag:' "$FW_TMP/put.headers" | tail -n 1 | sed 's/^[^:]*:[[:space:]]*//' | tr -d '\r"')
    [[ "$etag" =~ ^[A-Za-z0-9-]{1,128}$ ]] || { echo "no usable ETag returned for part $n" >>"$FW_TMP/upload.err"; return 4; }
    sum=$FW_S3_PUT_SHA256 # the checksum S3 validated this part against
    printf '%s %s %s %s\n' "$n" "$etag" "$size" "$sum" >>"$FW_TMP/parts"
    rm -f -- "$part"
    [ "$size" -eq "$part_bytes" ] || break
  done
  return 0
}

fw_log "streaming $format backup"
# pg_dump's snapshot is taken as it starts: a write after this is not in the backup
snapshot_at=$(fw_now_ms)
set +e
fw_produce 2>"$FW_TMP/producer.err" | tee -p >(fw_digest) >(fw_listing) | fw_upload_parts
st=("${PIPESTATUS[@]}")
set -e
fw_redact <"$FW_TMP/producer.err" >&2 || true
producer_rc=${st[0]} tee_rc=${st[1]} upload_rc=${st[2]}

if [ "$upload_rc" = 3 ]; then fw_fail backup-too-large "$(tail -n 1 "$FW_TMP/upload.err")"; fi
if [ "$producer_rc" != 0 ]; then
  fw_fail backup-failed "$format producer failed (exit $producer_rc): $(tail -n 2 "$FW_TMP/producer.err" | tr '\n' ' ')"
fi
[ "$tee_rc" = 0 ] || fw_fail backup-failed "stream copy failed (exit $tee_rc)"
[ "$upload_rc" = 0 ] || fw_fail backup-failed "part upload failed: $(tail -n 1 "$FW_TMP/upload.err" 2>/dev/null)"
fw_wait_file "$FW_TMP/data.sha" 120 || fw_fail verify-failed "no checksum computed"
fw_wait_file "$FW_TMP/list.rc" 120 || fw_fail verify-failed "listing did not finish"
if [ "$(cat "$FW_TMP/list.rc")" != 0 ]; then
  fw_fail verify-failed "backup does not list: $(tail -n 1 "$FW_TMP/list.err" | fw_redact)"
fi
if [ "$format" = pgdump ]; then
  entries=$(grep -v '^;' "$FW_TMP/list.out" | sed '/^[[:space:]]*$/d' | wc -l)
else
  entries=$(sed '/^$/d' "$FW_TMP/list.out" | wc -l)
fi
[ "$entries" -gt 0 ] || fw_fail verify-failed "backup lists no entries"
data_sha=$(cat "$FW_TMP/data.sha")
data_bytes=$(awk '{ s += $3 } END { printf "%d", s }' "$FW_TMP/parts")
[ "$data_bytes" -gt 0 ] || fw_fail verify-failed "backup is empty"
parts_json=$(awk '{ printf "%s{\"partNumber\":%d,\"etag\":\"%s\",\"bytes\":%d,\"checksumSha256\":\"%s\"}", (NR > 1 ? "," : ""), $1, $2, $3, $4 }' "$FW_TMP/parts")
# the composite checksum S3 computes at completion: SHA-256 over the parts' binary digests, "-<parts>"
composite="$(awk '{ print $4 }' "$FW_TMP/parts" | while IFS= read -r c; do printf '%s' "$c" | base64 -d; done | sha256sum | awk '{print $1}' | sed 's/../\\x&/g')"
composite="$(printf "$composite" | base64)-$(wc -l <"$FW_TMP/parts")"
fw_log "backup done: $data_bytes bytes in $(wc -l <"$FW_TMP/parts") part(s), $entries entries"
# Done: services this step stopped stay stopped until the restart starts them on the new tags.
services_stopped=$FW_STOPPED
FW_STOPPED=0
[ "$services_stopped" = 1 ] && fw_log "services left stopped until the restart: no write can reach data the backup does not hold"
fw_ok "\"servicesStopped\":$(fw_bool "$services_stopped"),\"snapshotAt\":$snapshot_at,\"finishedAt\":$(fw_now_ms),\"mode\":$(fw_str "$mode"),\"version\":$(fw_str_or_null "$version"),\"data\":{\"bytes\":$data_bytes,\"sha256\":$(fw_str "$data_sha"),\"format\":$(fw_str "$format"),\"entries\":$entries,\"checksumSha256\":$(fw_str "$composite"),\"parts\":[$parts_json]},\"config\":{\"bytes\":$config_bytes,\"sha256\":$(fw_str "$config_sha"),\"checksumSha256\":$(fw_str "$(fw_sha256_b64 "$FW_TMP/config.tar.gz")"),\"entries\":$config_entries}"

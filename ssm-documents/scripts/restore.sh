# Restore from a backup. The backup is verified by download (sha256 and a
# listing, streamed, no full copy kept) BEFORE anything is touched; then the
# services stop, the config files are put in place (renamed in from root's
# private dir) and the data comes from a second download, checked again
# before it replaces anything (embedded: extracted beside the volume's data
# and swapped in by renames; external: pg_restore --clean in one
# transaction). If the data restore fails, the host is put back exactly as it
# was before the restore began: its config files, its data, its services.
FW_STEP=restore
FW_DEFAULT_ERROR=restore-failed
fw_param ComposeDir "$FW_RE_COMPOSE_DIR"
fw_param Mode '^(embedded|external)$'
fw_param Bucket "$FW_RE_BUCKET"
fw_param Region "$FW_RE_REGION"
fw_param DataKey "$FW_RE_S3_KEY"
fw_param DataVersionId '^(-|[A-Za-z0-9_][A-Za-z0-9._-]*)$' -
fw_s3_id_length "$P_DataVersionId" DataVersionId
fw_param DataSha256 "$FW_RE_SHA256"
fw_param ConfigKey "$FW_RE_S3_KEY"
fw_param ConfigVersionId '^(-|[A-Za-z0-9_][A-Za-z0-9._-]*)$' -
fw_s3_id_length "$P_ConfigVersionId" ConfigVersionId
fw_param ConfigSha256 "$FW_RE_SHA256"
fw_s3_target "$P_Bucket" "$P_Region"

fw_set_compose_dir "$P_ComposeDir"
fw_detect_compose
fw_tmpdir
# downloads with the node's own credentials (s3.sh), of the versions the backup's verification recorded
fw_get_config() { fw_s3_get "$P_ConfigKey" "$P_ConfigVersionId"; }
fw_get_data() { fw_s3_get "$P_DataKey" "$P_DataVersionId"; }

# ---- 1. verify the configuration archive
fw_get_config >"$FW_TMP/config.tar.gz" || fw_fail verify-failed "could not download the config archive: $(tail -n 1 "$FW_TMP/download.err")"
[ "$(fw_sha256_file "$FW_TMP/config.tar.gz")" = "$P_ConfigSha256" ] || fw_fail verify-failed "config archive sha256 does not match"
cfg_list=$(tar -tzf "$FW_TMP/config.tar.gz" 2>/dev/null) || fw_fail verify-failed "config archive does not list"
cfg_files=()
while IFS= read -r entry; do
  [ -n "$entry" ] || continue
  name="${entry#./}"
  [[ "$name" =~ ^[A-Za-z0-9_][A-Za-z0-9._-]*$|^\.env$ ]] || fw_fail verify-failed "config archive holds an unexpected path"
  cfg_files+=("$name")
done <<<"$cfg_list"
fw_has semaphor.env "${cfg_files[@]}" || fw_fail verify-failed "config archive has no semaphor.env"
{ fw_has docker-compose.yml "${cfg_files[@]}" || fw_has docker-compose.yaml "${cfg_files[@]}" || fw_has compose.yaml "${cfg_files[@]}" || fw_has compose.yml "${cfg_files[@]}"; } || fw_fail verify-failed "config archive has no compose file"
mkdir "$FW_TMP/config"
tar -xzf "$FW_TMP/config.tar.gz" -C "$FW_TMP/config" || fw_fail verify-failed "config archive does not extract"
for name in "${cfg_files[@]}"; do
  # backups hold regular files only (backup.sh refuses links); a link here would be followed by cp
  [ -f "$FW_TMP/config/$name" ] && [ ! -L "$FW_TMP/config/$name" ] || fw_fail verify-failed "config archive entry $name is not a regular file"
done
backup_mode=embedded
[ -n "$(fw_env_get "$FW_TMP/config/semaphor.env" DATABASE_URL)" ] && backup_mode=external
[ "$backup_mode" = "$P_Mode" ] || fw_fail verify-failed "backup is of a $backup_mode host, restore asked for $P_Mode"

# ---- 2. verify the data by streaming it once
if [ "$P_Mode" = embedded ]; then
  fw_list() { tar -tzf -; }
else
  fw_pg_choose || fw_fail verify-failed "$FW_PG_ERROR"
  fw_list() { fw_pg pg_restore -l; }
fi
fw_digest() { sha256sum | awk '{print $1}' >"$1.tmp" && mv "$1.tmp" "$1"; }
# pg_restore -l reads only the archive's table of contents and exits: drain the
# rest, or tee and curl fail writing once the dump outgrows the pipe buffers
fw_listing() {
  local rc=0
  fw_list || rc=$?
  cat >/dev/null
  return "$rc"
}
set +e
fw_get_data | tee >(fw_digest "$FW_TMP/verify.sha") | fw_listing >"$FW_TMP/list.out" 2>"$FW_TMP/list.err"
st=("${PIPESTATUS[@]}")
set -e
[ "${st[0]}" = 0 ] || fw_fail verify-failed "could not download the data backup: $(tail -n 1 "$FW_TMP/download.err")"
[ "${st[2]}" = 0 ] || fw_fail verify-failed "data backup does not list: $(tail -n 1 "$FW_TMP/list.err" | fw_redact)"
fw_wait_file "$FW_TMP/verify.sha" 120 || fw_fail verify-failed "no checksum computed"
[ "$(cat "$FW_TMP/verify.sha")" = "$P_DataSha256" ] || fw_fail verify-failed "data backup sha256 does not match"
[ "$(grep -cv '^;' "$FW_TMP/list.out" || true)" -gt 0 ] || fw_fail verify-failed "data backup lists no entries"
fw_log "backup verified: sha256 and listing ok"

# ---- 3. remember the host as it is, stop, put the backup's configuration in place
# Until the restored data is complete and checked, everything needed to put the host back
# exactly as it was is kept: the config files (in root's private dir), the data (embedded:
# the new data is extracted beside it and swapped in only once checked; external:
# pg_restore runs in one transaction), and whether the services were running.
fw_load_states
was_running=false
state=$(fw_container_state api-service)
if [ -n "$state" ] && [ "${state%%|*}" = true ]; then was_running=true; fi
fw_private_dir
mkdir "$FW_PRIV/before"
for name in "${cfg_files[@]}"; do
  if [ -e "$FW_DIR/$name" ] || [ -L "$FW_DIR/$name" ]; then cp -P -p -- "$FW_DIR/$name" "$FW_PRIV/before/$name"; fi
done
if [ "$P_Mode" = embedded ]; then
  volume=$(fw_volume_name)
  fw_helper() { docker run --rm -i -v "$volume:/data" "$FW_HELPER_IMAGE" sh -c "$1"; }
  # the new data's place inside the volume: same filesystem, so the swap is renames only
  FW_NEW=.fleetwave-restore-new
  FW_OLD=.fleetwave-restore-old
fi
# Puts back what section 3 saved, drops the unfinished new data, starts what was running.
fw_put_back() {
  local name
  for name in "${cfg_files[@]}"; do
    if [ -e "$FW_PRIV/before/$name" ] || [ -L "$FW_PRIV/before/$name" ]; then
      mv -f -T -- "$FW_PRIV/before/$name" "$FW_DIR/$name"
    else
      rm -f -- "$FW_DIR/$name"
    fi
  done
  fw_set_compose_dir "$FW_DIR"
  if [ "$P_Mode" = embedded ]; then fw_helper "rm -rf /data/$FW_NEW" </dev/null >&2 2>&1 || true; fi
  if [ "$was_running" = true ]; then fw_compose up -d >&2 2>&1 || fw_log "services did not start again after putting the host back"; fi
}
fw_compose stop >&2 2>&1 || fw_fail restore-failed "could not stop the services"
for name in "${cfg_files[@]}"; do
  # made in root's private dir, renamed over the entry: a link planted at the name is replaced
  cp -p -- "$FW_TMP/config/$name" "$FW_PRIV/$name"
  mv -f -T -- "$FW_PRIV/$name" "$FW_DIR/$name"
done
fw_set_compose_dir "$FW_DIR"
fw_log "configuration restored (${cfg_files[*]})"

# ---- 4. the data from a second download, checked again before it replaces anything
if [ "$P_Mode" = embedded ]; then
  fw_apply() { fw_helper "rm -rf /data/$FW_NEW && mkdir /data/$FW_NEW && tar -C /data/$FW_NEW -xzf -"; }
else
  fw_pg_env_from_url "$(fw_env_get "$FW_DIR/semaphor.env" DATABASE_URL)" || { fw_put_back; fw_fail restore-failed "restored semaphor.env: $FW_URL_ERROR; the host was put back as it was"; }
  # the restored semaphor.env may name another server: the client is chosen again for it
  fw_pg_choose || { fw_put_back; fw_fail restore-failed "$FW_PG_ERROR; the host was put back as it was"; }
  # Exactly the backed-up schema and rows: in one transaction, drop every table, view, sequence,
  # type and function the connecting role owns (what a newer release created included; pg_restore
  # --clean would drop only what is in the dump), then replay the dump. COMMIT is sent only after
  # pg_restore read the whole archive: a broken stream or any SQL error (ON_ERROR_STOP) ends the
  # session with the transaction open, and PostgreSQL rolls it all back.
  fw_apply() {
    { printf '%s\n' 'BEGIN;' "$FW_PG_DROP_OWNED"
      fw_pg pg_restore --no-owner --exit-on-error -f - && printf '%s\n' 'COMMIT;'
    } | fw_pg psql -X -q -v ON_ERROR_STOP=1 -d "$PGDATABASE" >/dev/null
  }
fi
set +e
fw_get_data | tee >(fw_digest "$FW_TMP/apply.sha") | fw_apply 2>"$FW_TMP/apply.err"
st=("${PIPESTATUS[@]}")
set -e
fw_redact <"$FW_TMP/apply.err" >&2 || true
put_back_note="the host was put back as it was before the restore (data, configuration, services)"
if [ "${st[0]}" != 0 ] || [ "${st[1]}" != 0 ] || [ "${st[2]}" != 0 ]; then
  detail=$(tail -n 1 "$FW_TMP/apply.err" | tr '\n' ' ' | fw_redact)
  fw_put_back
  fw_fail restore-failed "data restore failed (download ${st[0]}, apply ${st[2]}): $detail; $put_back_note"
fi
if ! fw_wait_file "$FW_TMP/apply.sha" 120 || [ "$(cat "$FW_TMP/apply.sha")" != "$P_DataSha256" ]; then
  # external: already committed by pg_restore, but the stream was verified by the first download
  fw_put_back
  fw_fail restore-failed "second download differed from the verified backup; $put_back_note"
fi
if [ "$P_Mode" = embedded ]; then
  # Swap: the old entries aside, the checked new ones in, then the old ones gone. Renames only.
  fw_helper "cd /data && rm -rf $FW_OLD && mkdir $FW_OLD && \
    for e in * .[!.]* ..?*; do { [ -e \"\$e\" ] || [ -L \"\$e\" ]; } || continue; \
      case \"\$e\" in $FW_NEW|$FW_OLD) continue ;; esac; mv \"\$e\" $FW_OLD/ || exit 1; done && \
    for e in $FW_NEW/* $FW_NEW/.[!.]* $FW_NEW/..?*; do { [ -e \"\$e\" ] || [ -L \"\$e\" ]; } || continue; mv \"\$e\" . || exit 1; done && \
    rmdir $FW_NEW && rm -rf $FW_OLD" </dev/null >&2 2>&1 || fw_fail restore-failed "could not swap the restored data into place; services left stopped"
fi

# ---- 5. start on the restored pins
if ! out=$(fw_compose up -d 2>&1); then
  fw_fail restore-failed "services did not start after restore: $(printf '%s' "$out" | tail -n 2 | fw_redact)"
fi
printf '%s\n' "$out" | fw_redact >&2
version=$(fw_pinned_version)
fw_ok "\"restored\":true,\"mode\":$(fw_str "$P_Mode"),\"version\":$(fw_str_or_null "$version")"

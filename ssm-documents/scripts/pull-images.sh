# Pull the three images at the target tag, from the repository each service's image resolves to
# (as compose reads it: variables interpolated, a digest pin's repository). The compose file is
# not touched, so a failed pull leaves the host exactly as it was. Reports per service the image,
# the registry digest docker recorded for it (what pin-tags pins) and the image id.
FW_STEP=pull-images
FW_DEFAULT_ERROR=pull-failed
fw_param ComposeDir "$FW_RE_COMPOSE_DIR"
fw_param Version "$FW_RE_VERSION"

fw_set_compose_dir "$P_ComposeDir"
fw_detect_compose
fw_load_images || fw_fail compose-invalid "$FW_IMAGES_ERROR"
images_json=""
for svc in "${FW_SERVICES[@]}"; do
  image="$(fw_repo_of "${FW_IMAGE[$svc]}"):$P_Version"
  fw_log "pulling $image"
  if ! out=$(docker pull "$image" 2>&1); then
    fw_fail pull-failed "could not pull $image: $(printf '%s' "$out" | tail -n 2)"
  fi
  printf '%s\n' "$out" >&2
  fw_image_facts "$image" || fw_fail pull-failed "$image is not in the local image store after pulling it"
  digest=$(fw_digest_in "$(fw_repo_of "$image")" "$FW_IMG_DIGESTS") || fw_fail pull-failed "docker recorded no registry digest for $image after pulling it"
  images_json+="${images_json:+,}$(fw_str "$svc"):{\"image\":$(fw_str "$image"),\"digest\":$(fw_str "$digest"),\"reference\":$(fw_str "$image@$digest"),\"imageId\":$(fw_str_or_null "$FW_IMG_ID")}"
done
fw_ok "\"version\":$(fw_str "$P_Version"),\"images\":{$images_json}"

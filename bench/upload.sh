#!/usr/bin/env bash
# bench/upload.sh -- upload figures (run by `make bench`, after build).
#
#   1. Throughput on loopback: `shoebox upload` of the corpus's JPEGs (tus,
#      8 MiB chunks, each file hashed by the client, checked, decoded and
#      moved into place by the server) against `cp` of the same files.
#   2. One large file (BENCH_UPLOAD_MB, 2048 MiB of random bytes named .mp4:
#      streamed, hashed as it streams, then refused by the content check,
#      which is quick): MB/s against `cp`, and serve's resident memory
#      sampled every 0.2 s during the upload (it should stay flat: tusd
#      streams to disk, nothing is held in memory).
#
# Nothing is asserted: the script prints a markdown table and writes it to
# bench/out/upload.md. Knobs: SHOEBOX_BIN, BENCH_CORPUS, BENCH_UPLOAD_MB,
# BENCH_UPLOAD_PHOTOS (200), BENCH_KEEP=1.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${SHOEBOX_BIN:-$ROOT/bin/shoebox}
CORPUS=${BENCH_CORPUS:-$ROOT/testdata/corpus}
BIG_MB=${BENCH_UPLOAD_MB:-2048}
PHOTOS=${BENCH_UPLOAD_PHOTOS:-200}
OUTDIR=$ROOT/bench/out
log() { printf 'bench upload: %s\n' "$*" >&2; }
die() { printf 'bench upload: error: %s\n' "$*" >&2; exit 1; }
[[ -x $BIN ]] || die "$BIN not found: run 'make build' first"
[[ -d $CORPUS ]] || die "corpus $CORPUS not found: run 'make setup-test' first"
mkdir -p "$OUTDIR"

TMP=$(mktemp -d /tmp/shoebox-bench-upload-XXXXXX)
chmod 755 "$TMP" # the embedded PostgreSQL may run as "postgres"
SERVE=
cleanup() {
	[[ -n $SERVE ]] && kill "$SERVE" 2>/dev/null && wait "$SERVE" 2>/dev/null || true
	[[ -n ${BENCH_KEEP:-} ]] && log "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

now() { date +%s.%N; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

mkdir -p "$TMP/lib" "$TMP/data" "$TMP/photos"
find -L "$CORPUS" -type f -iname '*.jpg' -size +15k -size -2M | sort | head -n "$PHOTOS" |
	while read -r f; do cp "$f" "$TMP/photos/$(printf '%s' "$f" | sha1sum | cut -c1-12).jpg"; done
n_photos=$(find "$TMP/photos" -type f | wc -l)
photo_bytes=$(du -sb "$TMP/photos" | cut -f1)

log "starting serve"
env -u DATABASE_URL "$BIN" serve --library "$TMP/lib" --data "$TMP/data" --addr 127.0.0.1:0 --rescan 0 \
	--workers 1 >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVE=$!
for _ in $(seq 600); do
	grep -q 'Shoebox is serving' "$TMP/serve.out" 2>/dev/null && break
	kill -0 "$SERVE" 2>/dev/null || die "serve exited: $(tail -5 "$TMP/serve.err")"
	sleep 0.2
done
URL=$(grep -o 'http://[^ ]*' "$TMP/serve.out" | head -1)
URL=${URL%/}
[[ -n $URL ]] || die "serve did not start"
export XDG_CACHE_HOME=$TMP/cache

# 1. Photos.
log "uploading $n_photos photos"
t0=$(now)
"$BIN" upload --server "$URL" --key none "$TMP/photos" >"$TMP/photos.out" 2>&1 || true
t1=$(now)
up_s=$(echo "$t1 - $t0" | bc -l)
kept=$(grep -c '^uploaded ' "$TMP/photos.out" || true)
t0=$(now); cp -r "$TMP/photos" "$TMP/photos-copy"; t1=$(now)
cp_s=$(echo "$t1 - $t0" | bc -l)

# 2. One large file.
log "making a ${BIG_MB} MiB file"
head -c "$((BIG_MB * 1024 * 1024))" /dev/urandom >"$TMP/big.mp4"
sync
rest_kb=$(rss_kb "$SERVE")
: >"$TMP/rss"
( while kill -0 "$SERVE" 2>/dev/null; do rss_kb "$SERVE" >>"$TMP/rss"; sleep 0.2; done ) &
SAMPLER=$!
log "uploading it"
t0=$(now)
"$BIN" upload --server "$URL" --key none "$TMP/big.mp4" >"$TMP/big.out" 2>&1 || true
t1=$(now)
kill "$SAMPLER" 2>/dev/null || true
big_s=$(echo "$t1 - $t0" | bc -l)
peak_kb=$(sort -n "$TMP/rss" | tail -1)
samples=$(wc -l <"$TMP/rss")
refused=$(grep -c '^refused ' "$TMP/big.out" || true)
t0=$(now); cp "$TMP/big.mp4" "$TMP/big-copy.mp4"; t1=$(now)
bigcp_s=$(echo "$t1 - $t0" | bc -l)
left=$(find "$TMP/data/uploads/.tus" -type f | wc -l)

mbps() { echo "scale=1; $1 / 1048576 / $2" | bc -l; }
{
	printf '# Upload benchmark, %s, %s, %s cores\n\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(nproc)"
	printf '| Benchmark | Shoebox | Reference (same run) |\n|---|---|---|\n'
	printf '| Upload %d real JPEGs (%.1f MB) on loopback with `shoebox upload` (hash, check, tus, content check, move, row + job) | %.2f s, %s MB/s, %s files/s (%s kept) | `cp -r` of the same files: %.2f s, %s MB/s |\n' \
		"$n_photos" "$(echo "$photo_bytes / 1000000" | bc -l)" "$up_s" "$(mbps "$photo_bytes" "$up_s")" \
		"$(echo "scale=1; $n_photos / $up_s" | bc -l)" "$kept" "$cp_s" "$(mbps "$photo_bytes" "$cp_s")"
	printf '| Upload one %d MiB file (hashed as it streams; refused by the content check after) | %.2f s, %s MB/s (refused: %s; %s files left in .tus) | `cp`: %.2f s, %s MB/s |\n' \
		"$BIG_MB" "$big_s" "$(mbps "$((BIG_MB * 1048576))" "$big_s")" "$refused" "$left" "$bigcp_s" "$(mbps "$((BIG_MB * 1048576))" "$bigcp_s")"
	printf '| `shoebox serve` resident memory during that upload (%s samples, every 0.2 s) | peak %d MB | at rest before: %d MB |\n' \
		"$samples" "$((peak_kb / 1024))" "$((rest_kb / 1024))"
} | tee "$OUTDIR/upload.md"

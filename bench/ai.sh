#!/usr/bin/env bash
# bench/ai.sh -- search by meaning with a ViT-B/32-sized CLIP model: inference
# speed, and what `shoebox serve` costs in memory and latency with it loaded.
#
#   1. Writes a ViT-B/32-sized model (random weights: speed and memory only,
#      no meaning) into bench/out/vitb32 once, with CLIP's tokenizer files in
#      textual/ so shoebox can load it (go run ./bench/mkclip); reused after.
#   2. go test ./internal/ai -bench ViTB32 -benchtime 20x: images/s, texts/s
#      (one at a time, batch 1, as the model is exported), CPU ms per item.
#   3. shoebox serve on a small library (BENCH_AI_PHOTOS JPEGs copied from the
#      corpus) with SHOEBOX_CLIP_MODEL set: waits until every photo is
#      embedded and the queue is empty, then reads VmRSS and VmHWM of the
#      shoebox process; times /api/search?q=... for distinct queries on
#      their first call (text encoding + vector search), the same URL again
#      at once (the 1-second page cache), and the same words with a
#      different URL (text embedding cached, vector search run again).
#   4. The same serve without the model (same data folder, nothing left to
#      index): VmRSS at rest, so the model's share can be read.
#
# Prints a markdown table and writes it to bench/out/ai.md; raw output goes to
# bench/out/ai-*.txt / ai-*.log. Nothing here asserts a timing.
#
# Knobs (environment): SHOEBOX_BIN, BENCH_CORPUS, BENCH_VITB32_DIR (model
# folder, default bench/out/vitb32), SHOEBOX_CLIP_BPE (CLIP's
# bpe_simple_vocab_16e6.txt.gz, else the copy built in),
# BENCH_AI_PHOTOS (20), BENCH_AI_BENCHTIME (20x), BENCH_AI_BASELINE (1: also
# measure serve without the model), BENCH_AI_TIMEOUT (600 s to embed all),
# BENCH_KEEP=1 keeps the scratch folder.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${SHOEBOX_BIN:-$ROOT/bin/shoebox}
CORPUS=${BENCH_CORPUS:-$ROOT/testdata/corpus}
OUTDIR=$ROOT/bench/out
MODEL=${BENCH_VITB32_DIR:-$OUTDIR/vitb32}
NPHOTOS=${BENCH_AI_PHOTOS:-20}
BENCHTIME=${BENCH_AI_BENCHTIME:-20x}
BASELINE=${BENCH_AI_BASELINE:-1}
EMBED_TIMEOUT=${BENCH_AI_TIMEOUT:-600}
BUDGET=8

log() { printf 'bench/ai: %s\n' "$*" >&2; }
die() { printf 'bench/ai: error: %s\n' "$*" >&2; exit 1; }

[[ -x $BIN ]] || die "$BIN not found: run 'make build' first"
[[ -d $CORPUS ]] || die "corpus $CORPUS not found: run 'make setup' first"
for c in go curl awk sort find; do
	command -v "$c" >/dev/null || die "$c is not installed"
done

mkdir -p "$OUTDIR"
rm -f "$OUTDIR"/ai-*.txt "$OUTDIR"/ai-*.log # ai.md is replaced only at the end, by a run that got there
# Reachable by the postgres user (the embedded cluster runs as postgres when
# we are root), hence 0755.
WORK=$(mktemp -d /tmp/shoebox-ai-bench.XXXXXX)
chmod 755 "$WORK"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)

# ---------------------------------------------------------------- cleanup --
SERVE_PID=
DATA=$WORK/data

pg_running() { # is the data folder's embedded cluster up?
	local pf=$DATA/pg/data/postmaster.pid pid
	[[ -f $pf ]] || return 1
	read -r pid <"$pf" || return 1
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

stop_serve() { # SIGTERM (shoebox stops its own PostgreSQL), SIGKILL after 30s
	local pid=$SERVE_PID i
	SERVE_PID=
	[[ -n $pid ]] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 300; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "pid $pid ignored SIGTERM for 30s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	stop_serve
	if pg_running; then
		log "PostgreSQL of $DATA still running: pg_ctl stop -m fast"
		if [[ $(id -u) == 0 ]]; then
			runuser -u postgres -- "$PGBIN/pg_ctl" stop -D "$DATA/pg/data" -m fast -w >/dev/null 2>&1
		else
			"$PGBIN/pg_ctl" stop -D "$DATA/pg/data" -m fast -w >/dev/null 2>&1
		fi
	fi
	pg_running && log "still running: PostgreSQL of $DATA"
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers --
# The 1-minute load average: on a small machine other work skews every
# timing here, so the table shows it.
loadavg() { cut -d' ' -f1 /proc/loadavg; }
calc() { awk "BEGIN { v = ($1); printf \"%.${2:-1}f\", v }"; }
mb() { awk -v k="$1" 'BEGIN { if (k == "") print "n/a"; else printf "%.0f", k / 1024 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) printf "%.1f", v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

status_kb() { # PID FIELD: a kB figure from /proc/PID/status
	awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status" 2>/dev/null || true
}

proc_ticks() { # PID: utime+stime in clock ticks
	local -a f
	read -r -a f <"/proc/$1/stat" 2>/dev/null || { echo 0; return; }
	echo $((f[13] + f[14]))
}

free_port() {
	local p
	for p in $(shuf -i 20000-60000 -n 100); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
	done
	die "no free loopback port"
}

# json_num JSON PATH: a number from /api/stats (jq when present; else the
# first "key": in the compact JSON, which for these keys is the right one).
json_num() {
	if command -v jq >/dev/null; then
		jq -r "$2 // empty" <<<"$1" 2>/dev/null || true
	else
		local key=${2##*.}
		sed -n "s/.*\"$key\":\([0-9]*\).*/\1/p" <<<"$1" | head -n1
	fi
}

# start_serve NAME [ENV...]: shoebox serve on $LIB/$DATA; waits for /healthz.
start_serve() {
	local name=$1 i
	shift
	PORT=$(free_port)
	URL=http://127.0.0.1:$PORT
	env "$@" SHOEBOX_DB_MAX_CONNS=$BUDGET "$BIN" serve --library "$LIB" --data "$DATA" --addr "127.0.0.1:$PORT" \
		>"$OUTDIR/ai-serve-$name.log" 2>&1 &
	SERVE_PID=$!
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$SERVE_PID" 2>/dev/null || { cat "$OUTDIR/ai-serve-$name.log" >&2; die "shoebox serve ($name) exited"; }
		curl -fsS -o /dev/null "$URL/healthz" 2>/dev/null && return 0
		sleep 0.1
	done
	die "shoebox serve ($name) did not answer /healthz within 120s"
}

# settle PID: until the process stays idle (< 2 ticks per 0.5 s) for 2 s; at most 120 s.
settle() {
	local a b i idle=0
	a=$(proc_ticks "$1")
	for ((i = 0; i < 240 && idle < 4; i++)); do
		sleep 0.5
		b=$(proc_ticks "$1")
		if ((b - a < 2)); then idle=$((idle + 1)); else idle=0; fi
		a=$b
	done
}

# curl_ms URL: total time of one GET in ms; fails unless 200.
curl_ms() {
	local out code t
	out=$(curl -sS -o "$WORK/body.json" -w '%{http_code} %{time_total}' "$1") || return 1
	read -r code t <<<"$out"
	[[ $code == 200 ]] || { log "GET $1: HTTP $code: $(head -c 300 "$WORK/body.json")"; return 1; }
	calc "$t * 1000" 2
}

# ------------------------------------------------------------ environment --
DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
CPU_MODEL=$(awk -F: '/^model name/ { sub(/^[ \t]+/, "", $2); print $2; exit }' /proc/cpuinfo)
CORES=$(nproc)
log "scratch folder $WORK; CPU $CPU_MODEL x $CORES; load $(loadavg)"

# ============================================== 1. the model folder ======
T0=$EPOCHREALTIME
go run ./bench/mkclip "$MODEL" 2>"$OUTDIR/ai-mkclip.log" || { cat "$OUTDIR/ai-mkclip.log" >&2; die "bench/mkclip failed"; }
MK_S=$(calc "$EPOCHREALTIME - $T0" 1)
MODEL_MB=$(du -sm "$MODEL" | awk '{print $1}')
if grep -q 'wrote ViT-B/32' "$OUTDIR/ai-mkclip.log"; then MODEL_NOTE="written in ${MK_S}s"; else MODEL_NOTE="reused"; fi
log "model $MODEL ($MODEL_MB MB, $MODEL_NOTE)"

# ========================================== 2. inference speed (go test) ==
log "go test ./internal/ai -bench ViTB32 -benchtime $BENCHTIME"
LOAD_GOTEST=$(loadavg)
SHOEBOX_VITB32_DIR=$MODEL go test ./internal/ai -run '^$' -bench 'ViTB32' -benchtime "$BENCHTIME" -count 1 \
	>"$OUTDIR/ai-gotest.txt" 2>&1 || { cat "$OUTDIR/ai-gotest.txt" >&2; die "go test -bench ViTB32 failed"; }
metric() { # BENCHNAME UNIT: the value before UNIT on the benchmark's line
	awk -v b="$1" -v u="$2" '$1 ~ "^"b"(-[0-9]+)?$" { for (i = 2; i <= NF; i++) if ($i == u) { print $(i - 1); exit } }' "$OUTDIR/ai-gotest.txt"
}
IMG_S=$(metric BenchmarkViTB32Image images/s)
IMG_CPU=$(metric BenchmarkViTB32Image cpu-ms/image)
IMG_RSS=$(metric BenchmarkViTB32Image rss-MB)
OPEN_RSS=$(metric BenchmarkViTB32Image open-rss-MB)
TXT_S=$(metric BenchmarkViTB32Text texts/s)
TXT_CPU=$(metric BenchmarkViTB32Text cpu-ms/text)
[[ -n $IMG_S && -n $TXT_S ]] || { cat "$OUTDIR/ai-gotest.txt" >&2; die "no images/s or texts/s in the benchmark output"; }
IMG_MS=$(calc "1000 / $IMG_S" 1)
TXT_MS=$(calc "1000 / $TXT_S" 1)
log "images/s $IMG_S ($IMG_MS ms each), texts/s $TXT_S ($TXT_MS ms each)"

# =================================== 3. shoebox serve with the model ======
LIB=$WORK/lib
mkdir -p "$LIB"
# Real photos, not the corpus's tiny or deliberately broken fixtures: JPEGs
# over 100 kB (and that libvips can read, when vipsheader is here), by path.
n=0
while IFS= read -r -d '' f; do
	if command -v vipsheader >/dev/null && ! vipsheader "$f" >/dev/null 2>&1; then continue; fi
	n=$((n + 1))
	cp "$f" "$LIB/$(printf 'p%03d_' "$n")$(basename "$f")"
	((n < NPHOTOS)) || break
done < <(find "$CORPUS" -type f \( -iname '*.jpg' -o -iname '*.jpeg' \) -size +100k -print0 | sort -z)
((n > 0)) || die "no JPEG over 100 kB in $CORPUS"
LIB_MB=$(du -sm "$LIB" | awk '{print $1}')
log "library: $n photos, $LIB_MB MB"

T0=$EPOCHREALTIME
start_serve model SHOEBOX_CLIP_MODEL="$MODEL"
UP_S=$(calc "$EPOCHREALTIME - $T0" 1)
log "serve (model) on $URL, pid $SERVE_PID, up in ${UP_S}s; waiting until every photo is embedded"
deadline=$((SECONDS + EMBED_TIMEOUT))
while :; do
	kill -0 "$SERVE_PID" 2>/dev/null || { cat "$OUTDIR/ai-serve-model.log" >&2; die "shoebox serve exited"; }
	STATS=$(curl -fsS "$URL/api/stats" 2>/dev/null || true)
	photos=$(json_num "$STATS" .photos)
	embedded=$(json_num "$STATS" .embedded)
	pending=$(json_num "$STATS" .queue.pending)
	if [[ -n $photos && -n $embedded && -n $pending ]] && ((photos > 0 && embedded == photos && pending == 0)); then
		break
	fi
	((SECONDS < deadline)) || die "not all embedded after ${EMBED_TIMEOUT}s: photos ${photos:-?}, embedded ${embedded:-?}, pending ${pending:-?}"
	sleep 0.5
done
T_ALL=$EPOCHREALTIME
EMBED_S=$(calc "$T_ALL - $T0" 1)
FAILED=$(json_num "$STATS" .queue.failed)
MODEL_NAME=$( (command -v jq >/dev/null && jq -r '.model.name // empty' <<<"$STATS") || true)
log "all $photos photos embedded ${EMBED_S}s after start (failed to index: ${FAILED:-0}); settling"
# From serve's log: the model's load time, and on a new database the tag
# vocabulary's embedding (once per model; the first embed job waits for it).
log_epoch() { # MESSAGE-PATTERN: epoch of the first log line matching it
	local iso
	iso=$(sed -n "s/^time=\([^ ]*\) .*msg=\"\{0,1\}$1.*/\1/p" "$OUTDIR/ai-serve-model.log" | head -n1)
	[[ -n $iso ]] && date -d "$iso" +%s.%N 2>/dev/null || true
}
T_DBREADY=$(log_epoch 'database ready')
T_MODEL=$(log_epoch 'search by meaning ready')
T_VOCAB=$(log_epoch 'jobs: tag vocabulary embedded')
VOCAB_N=$(sed -n 's/.*tag vocabulary embedded.* labels=\([0-9]*\).*/\1/p' "$OUTDIR/ai-serve-model.log" | head -n1)
LOAD_S=n/a VOCAB_S=n/a AFTER_VOCAB_S=n/a
[[ -n $T_DBREADY && -n $T_MODEL ]] && LOAD_S=$(calc "$T_MODEL - $T_DBREADY" 1)
if [[ -n $T_MODEL && -n $T_VOCAB ]]; then
	VOCAB_S=$(calc "$T_VOCAB - $T_MODEL" 1)
	AFTER_VOCAB_S=$(calc "$T_ALL - $T_VOCAB" 1)
fi
log "model loaded in ${LOAD_S}s; tag vocabulary (${VOCAB_N:-?} labels) embedded ${VOCAB_S}s after; photos done ${AFTER_VOCAB_S}s later"
settle "$SERVE_PID"
sleep 5
RSS=$(status_kb "$SERVE_PID" VmRSS)
HWM=$(status_kb "$SERVE_PID" VmHWM)
log "VmRSS $(mb "$RSS") MB, VmHWM $(mb "$HWM") MB"

QUERIES=(
	"dog on a beach" "a red car" "sunset over the sea" "mountains with snow" "a cat sleeping on a sofa"
	"birthday cake with candles" "children playing football" "a bowl of fruit" "city street at night" "flowers in a garden"
	"a bridge over a river" "people at a wedding" "a forest in autumn" "a boat on a lake" "an old church"
	"food on a plate" "a horse in a field" "fireworks" "a desert landscape" "a baby smiling"
)
LOAD_SEARCH=$(loadavg)
: >"$OUTDIR/ai-search.txt"
first=() again=() fresh=()
for q in "${QUERIES[@]}"; do
	enc=$(printf '%s' "$q" | sed 's/ /+/g')
	a=$(curl_ms "$URL/api/search?q=$enc") || die "search failed"
	b=$(curl_ms "$URL/api/search?q=$enc") || die "search failed"
	# An unused parameter: another page-cache key, the same search.
	c=$(curl_ms "$URL/api/search?q=$enc&r=1") || die "search failed"
	hits=$( (command -v jq >/dev/null && jq '.photos | length' "$WORK/body.json") || echo "?")
	first+=("$a") again+=("$b") fresh+=("$c")
	printf '%s\tfirst %s ms\tagain %s ms\tembedding cached %s ms\t%s photos\n' "$q" "$a" "$b" "$c" "$hits" >>"$OUTDIR/ai-search.txt"
done
S_FIRST=$(printf '%s\n' "${first[@]}" | median)
S_AGAIN=$(printf '%s\n' "${again[@]}" | median)
S_FRESH=$(printf '%s\n' "${fresh[@]}" | median)
S_FIRST_MAX=$(printf '%s\n' "${first[@]}" | sort -g | tail -n1)
log "search: first $S_FIRST ms, again $S_AGAIN ms, embedding cached $S_FRESH ms (medians of ${#QUERIES[@]})"
RSS_AFTER=$(status_kb "$SERVE_PID" VmRSS)
T0=$EPOCHREALTIME
stop_serve
STOP_S=$(calc "$EPOCHREALTIME - $T0" 1)
pg_running && die "PostgreSQL still running after shoebox stopped"
log "serve stopped in ${STOP_S}s (its PostgreSQL with it)"

# ======================================= 4. the same serve, no model ======
RSS_BASE= HWM_BASE=
if [[ $BASELINE == 1 ]]; then
	start_serve nomodel SHOEBOX_CLIP_MODEL=
	settle "$SERVE_PID"
	sleep 5
	RSS_BASE=$(status_kb "$SERVE_PID" VmRSS)
	HWM_BASE=$(status_kb "$SERVE_PID" VmHWM)
	stop_serve
	pg_running && die "PostgreSQL still running after shoebox stopped"
	log "serve without a model: VmRSS $(mb "$RSS_BASE") MB, VmHWM $(mb "$HWM_BASE") MB"
fi

# ------------------------------------------------------------------ table --
GO_VER=$(go env GOVERSION)
ORT_VER=$(sed -n 's/.*; ORT \([^;]*\);.*/\1/p' "$OUTDIR/ai-gotest.txt" | head -n1)
{
	echo "# Search by meaning: ViT-B/32-sized CLIP"
	echo
	echo "$DATE, $CPU_MODEL x $CORES, $GO_VER${ORT_VER:+, ONNX Runtime $ORT_VER}. Model: random weights of ViT-B/32's size and"
	echo "graph (speed and memory only, no meaning), $MODEL_MB MB, $MODEL_NOTE. Batch 1, 2 intra-op threads."
	echo
	echo "| Metric | Value |"
	echo "|---|---|"
	echo "| image encoding (go test -bench ViTB32Image, $BENCHTIME) | **$IMG_S images/s** ($IMG_MS ms each, $IMG_CPU CPU-ms per image) |"
	echo "| text encoding (go test -bench ViTB32Text, $BENCHTIME) | **$TXT_S texts/s** ($TXT_MS ms each, $TXT_CPU CPU-ms per text) |"
	echo "| go test process: RSS growth opening both sessions / RSS after | $OPEN_RSS MB / $IMG_RSS MB |"
	echo "| library for serve | $n JPEGs ($LIB_MB MB) from the corpus; budget $BUDGET |"
	echo "| serve with the model, new data folder: start to all $photos embedded, queue empty | ${EMBED_S} s (answering /healthz after ${UP_S} s) |"
	echo "| … of which: model load at start | $LOAD_S s |"
	if [[ -n $VOCAB_N ]]; then
		echo "| … of which: tag vocabulary, $VOCAB_N labels (once per model; embed jobs wait for it) | $VOCAB_S s |"
		echo "| … of which: the $photos photos after the vocabulary | $AFTER_VOCAB_S s (polled every 0.5 s) |"
	fi
	echo "| **serve VmRSS at rest, model loaded** | **$(mb "$RSS") MB** (after the searches: $(mb "$RSS_AFTER") MB) |"
	echo "| serve VmHWM (peak, indexing + embedding) | $(mb "$HWM") MB |"
	if [[ -n $RSS_BASE ]]; then
		echo "| serve VmRSS at rest, no model (same library) | $(mb "$RSS_BASE") MB (peak $(mb "$HWM_BASE") MB): the model adds $(mb $((RSS - RSS_BASE))) MB |"
	fi
	echo "| **/api/search, first call** (text encoding + vector search), median of ${#QUERIES[@]} queries | **$S_FIRST ms** (max $S_FIRST_MAX ms) |"
	echo "| /api/search, same URL again (page cache, 1 s) | $S_AGAIN ms |"
	echo "| /api/search, same words, other URL (text embedding cached, vector search run) | $S_FRESH ms |"
	echo "| serve stop (SIGTERM, embedded PostgreSQL stopped) | $STOP_S s |"
	echo "| load average (1 min) at the go test / at the searches | $LOAD_GOTEST / $LOAD_SEARCH |"
} >"$WORK/ai.md"
mv "$WORK/ai.md" "$OUTDIR/ai.md"
cat "$OUTDIR/ai.md"
log "wrote $OUTDIR/ai.md"

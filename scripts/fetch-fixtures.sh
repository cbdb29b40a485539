#!/usr/bin/env bash
# Small unit-test fixture set (~15 MB, 55 files) copied out of Go module zips
# (`go mod download` only, so it works with nothing but the Go module proxy).
# (The list began as the workspace's fixtures script; this copy stands alone.)
#
# Usage: scripts/fetch-fixtures.sh [DEST]      (default: testdata/fixtures)
#
# DEST is wiped and refilled. A stamp file  <parent>/.<name>.complete  is written
# only after everything was copied; it holds this script's sha256, so
# scripts/setup.sh refetches when the stamp is missing (interrupted fetch) or
# when this script was edited (fixture set changed).
set -euo pipefail
SELF=$(realpath "${BASH_SOURCE[0]}")
DEST=$(realpath -m "${1:-testdata/fixtures}")
STAMP="$(dirname "$DEST")/.$(basename "$DEST").complete"
case "$DEST" in /|"$HOME"|/root|/usr|/etc|/tmp) echo "refusing to use $DEST as fixture dir" >&2; exit 2;; esac
command -v go >/dev/null || { echo "fetch-fixtures: go not on PATH" >&2; exit 1; }

rm -f "$STAMP"; rm -rf "$DEST"; mkdir -p "$DEST"
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
cd "$WORK" && go mod init fixturefetch >/dev/null 2>&1
# dir MODULE@VERSION -> the unpacked module directory in the module cache
dir() { local d; d=$(go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",\{0,1\}$/\1/p'); [ -d "$d" ] || { echo "go mod download $1 failed" >&2; exit 1; }; echo "$d"; }
BEP=$(dir github.com/bep/imagemeta@v1.0.1)
BIMG=$(dir github.com/h2non/bimg@v1.1.9)
GOEXIF=$(dir github.com/rwcarlsen/goexif@v0.0.0-20190401172101-9e8deecbddbd)
DSO=$(dir github.com/dsoprea/go-exif/v3@v3.0.1)
EVO=$(dir github.com/evanoberholster/imagemeta@v0.3.1)
BAR=$(dir github.com/barasher/go-exiftool@v1.10.0)
IMG=$(dir github.com/disintegration/imaging@v1.6.2)
XIMG=$(dir golang.org/x/image@v0.48.0)
# module cache files are read-only; copies get 644 so tests may not care
c() { mkdir -p "$(dirname "$DEST/$2")"; cp "$1" "$DEST/$2"; chmod 644 "$DEST/$2"; }
# all 8 EXIF orientations on a real 1600x1200 photo (landscape + portrait sets), plus tiny 70x50 set incl. no-EXIF
for i in 1 2 3 4 5 6 7 8; do
  c "$BIMG/testdata/exif/Landscape_$i.jpg" "orientation/landscape_$i.jpg"
  c "$BIMG/testdata/exif/Portrait_$i.jpg"  "orientation/portrait_$i.jpg"
done
for i in 0 1 2 3 4 5 6 7 8; do c "$IMG/testdata/orientation_$i.jpg" "orientation/tiny_$i.jpg"; done
# camera EXIF + GPS
c "$DSO/assets/gps.jpg"                              "gps/samsung_sm-n920t_gps.jpg"
c "$GOEXIF/exif/sample1.jpg"                         "gps/nikon_d2h_gps.jpg"
c "$GOEXIF/exif/samples/has-lens-info.jpg"           "gps/iphone4s_gps_orient6.jpg"
c "$BAR/testdata/gps.jpg"                            "gps/nikon_p6000_gps.jpg"
c "$BEP/testdata/images/metadata_demo_exif_only.jpg" "gps/samsung_sm-g930p_gps.jpg"
c "$DSO/assets/NDM_8901.jpg"                         "exif/canon_5d3_3840x2560.jpg"
c "$EVO/assets/JPEG.jpg"                             "exif/gopro_hero4.jpg"
c "$BAR/testdata/20190404_131804.jpg"                "exif/samsung_sm-g930f_orient6.jpg"
c "$EVO/assets/NoExif.jpg"                           "exif/minimal_exif_no_camera_no_date.jpg"  # upstream name says NoExif, but it has a tiny IFD0 + XMP
# no EXIF/XMP/IPTC at all (also orientation/tiny_0.jpg)
c "$BEP/testdata/images/metadata-extractor/noExif.jpg" "noexif/noexif_240x320.jpg"
c "$IMG/testdata/branches.jpg"                       "noexif/branches_600x400.jpg"
# other formats
c "$BEP/testdata/images/bep/sunrise.jpg"             "formats/sunrise.jpg"
c "$BEP/testdata/images/bep/sunrise.png"             "formats/sunrise_exif_gps.png"
c "$BEP/testdata/images/bep/sunrise.webp"            "formats/sunrise_exif_gps.webp"
c "$BEP/testdata/images/bep/sunrise_lossy.webp"      "formats/sunrise_lossy_noexif.webp"
c "$BEP/testdata/images/bep/sunrise_lossless.webp"   "formats/sunrise_lossless_noexif.webp"
c "$BEP/testdata/images/bep/sunrise.avif"            "formats/sunrise_exif_gps.avif"
c "$BEP/testdata/images/iphone.heic"                 "formats/iphone15pro_gps.heic"
c "$BIMG/testdata/test.heic"                         "formats/iphone11pro_gps_orient6.heic"
c "$BIMG/testdata/test.gif"                          "formats/test.gif"
c "$EVO/testImages/GIF.gif"                          "formats/1x1.gif"
c "$IMG/testdata/flowers.png"                        "formats/flowers_noexif.png"
c "$XIMG/testdata/yellow_rose.lossy.webp"            "formats/yellow_rose_lossy.webp"
c "$XIMG/testdata/yellow_rose.lossless.webp"         "formats/yellow_rose_lossless.webp"
# corrupt / hostile
c "$BIMG/testdata/corrupt.jpg"                       "corrupt/bimg_corrupt_truncated.jpg"
c "$GOEXIF/exif/corrupt/huge_tag_exif.jpg"           "corrupt/huge_tag_exif.jpg"
c "$GOEXIF/exif/corrupt/max_uint32_exif.jpg"         "corrupt/max_uint32_exif.jpg"
c "$GOEXIF/exif/corrupt/infinite_loop_exif.jpg"      "corrupt/infinite_loop_exif.jpg"
c "$BAR/testdata/empty.jpg"                          "corrupt/empty.jpg"
head -c 60000 "$BIMG/testdata/exif/Landscape_1.jpg" > "$DEST/corrupt/truncated_60k.jpg"

sha256sum < "$SELF" | cut -d' ' -f1 > "$STAMP"   # written last: marks a complete fetch
echo "fixtures: $(find "$DEST" -type f | wc -l) files, $(du -sh "$DEST" | cut -f1) in $DEST"

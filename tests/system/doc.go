// Package system holds Shoebox's system tests: they build the real shoebox
// binary, start it against real PostgreSQL clusters (internal/database/dbtest
// or the embedded cluster) on copies of real photos from testdata/corpus, and
// drive it over loopback HTTP only, as a user would. Run them with
//
//	go test -count=1 -v ./tests/system/
//
// They need what `make setup-test` installs: a Go toolchain with cgo and
// libvips-dev (to build the binary), PostgreSQL 15 server binaries with
// pgvector, the libvips command-line tools (vips, vipsheader), /usr/bin/time,
// and the fetched testdata (testdata/corpus, testdata/fixtures).
package system

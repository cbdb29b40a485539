package modelhub

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// The hub lists small files by their git blob id. These ids are what git
// itself computes (`printf 'hello\n' | git hash-object --stdin`), so the
// check agrees with git, not with a copy of our own formula.
func TestChecksumMatchesGitAndSHA256(t *testing.T) {
	for _, c := range []struct {
		data, blob string
	}{
		{"", "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"},
		{"hello\n", "ce013625030ba8dba906f756967f9e9ca394464a"},
	} {
		sum := newChecksum(File{Size: int64(len(c.data)), BlobID: c.blob})
		sum.Write([]byte(c.data))
		if !sum.ok() {
			t.Errorf("%q: blob id %x, git says %s", c.data, sum.Sum(nil), c.blob)
		}
		bad := newChecksum(File{Size: int64(len(c.data)), BlobID: c.blob})
		bad.Write([]byte(c.data + "x"))
		if bad.ok() {
			t.Errorf("%q plus a byte passes as %s", c.data, c.blob)
		}
	}
	s := sha256.Sum256([]byte("model"))
	sum := newChecksum(File{Size: 5, SHA256: hex.EncodeToString(s[:]), BlobID: "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"})
	sum.Write([]byte("model"))
	if !sum.ok() || sum.kind != "sha256" {
		t.Error("an LFS file is not checked by its SHA-256")
	}
}

func TestSplitLinks(t *testing.T) {
	got := splitLinks(`</api/a?cursor=x,y>; rel="next", </api/last>; rel="last"`)
	if len(got) != 2 || got[0].target != "/api/a?cursor=x,y" || !got[0].next || got[1].next {
		t.Fatalf("splitLinks = %+v", got)
	}
}

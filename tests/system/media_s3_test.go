package system

import (
	"bytes"
	"context"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"shoebox/internal/objstore/s3test"
)

// TestMediaOnS3 runs `shoebox serve` with SHOEBOX_MEDIA_URL=s3://... on a
// real S3 server (SeaweedFS): it indexes a library and serves its
// thumbnails from S3 (none is written under its data folder but its
// cache); a second serve process with its own data folder, on the same
// database, serves the very same thumbnails, fetched from S3 — even ones
// it had never served, with PostgreSQL stopped (no SQL behind media).
func TestMediaOnS3(t *testing.T) {
	s3 := s3test.Start(t)
	t.Cleanup(atExit(s3.Stop)) // stopped even if the run is cut short
	cluster, dbURL := startCluster(t, nil)
	lib, _ := makeLibrary(t, 12, 0)
	env := s3.Env("sys")
	s1 := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: 8, env: env})
	st := s1.waitIndexed(t, 3*time.Minute)
	list := s1.photos(t)
	if st.Photos == 0 || len(list.Photos) != st.Photos {
		t.Fatalf("indexed %d photos, listed %d", st.Photos, len(list.Photos))
	}

	// The objects are on S3, under the prefix, one thumbnail per photo.
	c, err := s3.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	kinds := map[string]int{}
	for o := range c.ListObjects(ctx, s3.Bucket, minio.ListObjectsOptions{Prefix: "sys/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		kinds[o.Key[strings.LastIndexByte(o.Key, '.')+1:]]++
	}
	if kinds["webp"] != st.Photos || kinds["jpg"] != st.Photos || kinds["src"] != st.Photos {
		t.Fatalf("objects on S3 by kind %v; want %d of each", kinds, st.Photos)
	}
	// And none in the data folder's media folder.
	if n := countFiles(t, filepath.Join(s1.dataDir, "media")); n != 0 {
		t.Fatalf("%d files under %s/media with media on S3", n, s1.dataDir)
	}

	thumbs := map[string][]byte{}
	for i, p := range list.Photos {
		if i%2 == 1 {
			continue // the other half: asked of the second process only
		}
		_, b := s1.mustGet(t, "/thumbnail/"+p.ID, 200)
		if !isWebP(b) {
			t.Fatalf("thumbnail %s from the first process is not WebP", p.ID)
		}
		thumbs[p.ID] = b
	}

	// A second process on the same database and bucket, its own data
	// folder, and a library of its own that is empty.
	s2 := startServe(t, serveOpts{dbURL: dbURL, library: t.TempDir(), budget: 4, env: env})
	for id, want := range thumbs {
		if _, b := s2.mustGet(t, "/thumbnail/"+id, 200); !bytes.Equal(b, want) {
			t.Fatalf("thumbnail %s: the second process serves other bytes", id)
		}
	}

	// An upload taken by the first process becomes an object of the
	// bucket, nothing of it kept under its data folder; once indexed, the
	// second process (a data folder of its own) serves its original.
	extra := corpusPhotos(t, 13)[12] // not in the library
	content, err := os.ReadFile(extra.path)
	if err != nil {
		t.Fatal(err)
	}
	cliEnv := append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir(), "HOME="+t.TempDir())
	if out, code := uploadCLI(t, cliEnv, "--server", s1.base, "--key", "unused without accounts", extra.path); code != 0 || !strings.Contains(out, "1 uploaded") {
		t.Fatalf("shoebox upload: exit %d\n%s", code, out)
	}
	var uploaded []string
	for o := range c.ListObjects(ctx, s3.Bucket, minio.ListObjectsOptions{Prefix: "sys/uploads/local/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		uploaded = append(uploaded, o.Key)
	}
	if len(uploaded) != 1 || !regexp.MustCompile(`^sys/uploads/local/\d{4}/\d{2}/[^/]+$`).MatchString(uploaded[0]) {
		t.Fatalf("upload objects %v; want one, under sys/uploads/local/YYYY/MM/", uploaded)
	}
	sum, _ := hex.DecodeString(extra.sum)
	upID := photoIDOf(sum)
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		code, _, b, err := s2.get("/original/" + upID)
		if err == nil && code == 200 {
			if !bytes.Equal(b, content) {
				t.Fatalf("/original of the upload from the second process: %d bytes, want the %d uploaded", len(b), len(content))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/original of the upload from the second process: %d %v after 2 minutes", code, err)
		}
	}

	// Nothing of the upload stays under the first process's data folder
	// once it is indexed (processing reads it through a temporary copy,
	// removed when done: allow the job a moment to finish).
	onDisk := func() (found string) {
		filepath.WalkDir(s1.dataDir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if b, _ := os.ReadFile(p); bytes.Equal(b, content) {
					found = p
				}
			}
			return nil
		})
		return found
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		p := onDisk()
		if p == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the upload is also on disk: %s", p)
		}
	}

	// doctor reports the media store, reachable and writable, beside a
	// running server (it shares the data folder).
	out, err := shoeboxStdin(t, shoeboxEnv(append(append([]string{}, env...), "DATABASE_URL="+dbURL)...), "", "doctor", "--data", s1.dataDir)
	if err != nil || !strings.Contains(out, "ok   media") || !strings.Contains(out, "s3://media/sys") || !strings.Contains(out, "writable") {
		t.Errorf("doctor: %v\n%s", err, out)
	}

	// Bad settings stop a process at start, saying why.
	for _, tc := range []struct{ env, want string }{
		{"SHOEBOX_S3_SECRET_KEY=wrong", "credentials refused"},
		{"SHOEBOX_MEDIA_URL=s3://no-such-bucket/sys", "no such bucket"},
		{"SHOEBOX_MEDIA_URL=ftp://host/media", "unknown scheme"},
		{"SHOEBOX_MEDIA_URL=media", "relative path"},
		{"SHOEBOX_MEDIA_URL=/no/such/shared/folder", "not a folder here"},
	} {
		e := shoeboxEnv(append(append([]string{}, env...), tc.env, "DATABASE_URL="+dbURL)...)
		out, err := shoeboxStdin(t, e, "", "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--library", t.TempDir())
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("serve with %s: %v, output %s; want an error saying %q", tc.env, err, tail(out, 400), tc.want)
		}
	}

	// PostgreSQL stops: both keep serving thumbnails, the second one even
	// those it never served before (fetched from S3 now: no SQL).
	if err := cluster.Stop(ctx); err != nil {
		t.Fatalf("stop cluster: %v", err)
	}
	for i, p := range list.Photos {
		_, b := s2.mustGet(t, "/thumbnail/"+p.ID, 200)
		if !isWebP(b) {
			t.Fatalf("thumbnail %s with the database down: not WebP", p.ID)
		}
		if i%2 == 0 && !bytes.Equal(b, thumbs[p.ID]) {
			t.Fatalf("thumbnail %s: other bytes with the database down", p.ID)
		}
		s2.mustGet(t, "/preview/"+p.ID, 200)
	}
	if n := countFiles(t, filepath.Join(s2.dataDir, "cache", "media")); n < 2*len(list.Photos) {
		t.Fatalf("the second process's cache holds %d files after serving %d thumbnails and previews", n, 2*len(list.Photos))
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if _, err := os.Stat(dir); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return n
}

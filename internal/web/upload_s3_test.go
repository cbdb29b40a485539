package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"shoebox/internal/database/dbtest"
	"shoebox/internal/jobs"
	"shoebox/internal/media/videotest"
	"shoebox/internal/objstore"
	"shoebox/internal/objstore/s3test"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
	"shoebox/internal/upload"
	"shoebox/internal/web"
)

// With media on S3 (a real SeaweedFS) and no SHOEBOX_UPLOAD_DIR, an
// upload through tus ends as an object of the bucket, nothing of it left
// under the data folder; the library's root says it is on S3; the process
// job indexes it from the bucket (thumbnail made); its original downloads
// byte for byte through /original (ranges too; a rewritten object is not
// served as the photo indexed), a video plays through
// /video and one browsers do not play is converted from the bucket; the
// same content again stores nothing; a rescan finds the objects unchanged;
// and emptying the trash deletes the object.
func TestUploadToS3(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	b, err := objstore.OpenS3(ctx, srv.Options("sb"))
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir() // the data folder: tus's uploads in progress, the media cache
	c, err := objstore.NewCache(b, objstore.CacheOptions{Dir: filepath.Join(data, "cache", "media")})
	if err != nil {
		t.Fatal(err)
	}
	store := thumbs.Remote(c)
	db := dbtest.Open(t, 6)
	st := storage.New(db)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := web.New(db, st, store, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetUploads(web.UploadOptions{Dir: filepath.Join(data, "uploads"), MaxBytes: 8 << 20, Bucket: b}); err != nil {
		t.Fatal(err)
	}
	ws := httptest.NewServer(h.Handler())
	defer ws.Close()

	r := jobs.New(db, store, jobs.Options{Workers: 2, Poll: 20 * time.Millisecond, Logger: log})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { r.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	drain := func() {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			c, err := st.CountJobs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.Pending == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("queue not empty after 2 minutes: %+v", c)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	mc, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	uploads := func() map[string][]byte { // the upload objects, by key under the bucket
		t.Helper()
		out := map[string][]byte{}
		for o := range mc.ListObjects(ctx, srv.Bucket, minio.ListObjectsOptions{Prefix: "sb/uploads/", Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			obj, err := mc.GetObject(ctx, srv.Bucket, o.Key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out[o.Key], err = io.ReadAll(obj)
			obj.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	// onDisk lists the files under the data folder holding content.
	onDisk := func(content []byte) []string {
		t.Helper()
		var found []string
		filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if b, _ := os.ReadFile(p); bytes.Equal(b, content) {
					found = append(found, p)
				}
			}
			return nil
		})
		return found
	}
	cl := &upload.Client{Server: ws.URL, Key: "unused without accounts", ChunkSize: 1000}
	send := func(name string, content []byte) upload.Result {
		t.Helper()
		sum := sha256.Sum256(content)
		res, err := cl.Upload(ctx, writeTemp(t, name, content), hex.EncodeToString(sum[:]))
		if err != nil {
			t.Fatalf("upload %s: %v", name, err)
		}
		return res
	}

	good := jpegOf(t, 640, 480, 7)
	res := send("IMG 1.JPG", good)
	if res.Duplicate || res.Photo == "" {
		t.Fatalf("upload: %+v", res)
	}
	month := time.Now().Format("2006/01")
	key := "sb/uploads/local/" + month + "/IMG 1.jpg"
	if got := uploads(); len(got) != 1 || !bytes.Equal(got[key], good) {
		t.Fatalf("objects after the upload: %d, want %s with the bytes sent", len(got), key)
	}
	libs, err := st.Libraries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root := "s3://" + srv.Bucket + "/sb/uploads/local"
	if !slices.ContainsFunc(libs, func(l storage.Library) bool { return l.Root == root }) {
		t.Fatalf("libraries %+v: none at %s", libs, root)
	}

	// Not checked before the queue is empty: the process job running
	// beside the upload reads the original through a temporary copy.
	drain() // the process job reads the original from the bucket
	p, err := st.Photo(ctx, storage.Scope{}, res.Photo)
	if err != nil || p.ThumbWidth == 0 || p.Width != 640 {
		t.Fatalf("photo row after processing: %+v %v", p, err)
	}
	if _, err := mc.StatObject(ctx, srv.Bucket, "sb/"+res.Photo[:2]+"/"+res.Photo+".thumb.webp", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("no thumbnail on S3: %v", err)
	}
	if left := onDisk(good); len(left) != 0 {
		t.Fatalf("a copy of the original stayed on disk after processing: %v", left)
	}
	resp, body := get(t, ws.URL+"/original/"+res.Photo)
	if resp.StatusCode != http.StatusOK || body != string(good) {
		t.Fatalf("/original: %d, %d bytes, want the %d uploaded", resp.StatusCode, len(body), len(good))
	}
	req, _ := http.NewRequest(http.MethodGet, ws.URL+"/original/"+res.Photo, nil)
	req.Header.Set("Range", "bytes=100-199")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		part, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, good[100:200]) {
			t.Fatalf("range of the original: %d, %d bytes", resp.StatusCode, len(part))
		}
	}
	if resp, _ := get(t, ws.URL+"/thumbnail/"+res.Photo); resp.StatusCode != http.StatusOK {
		t.Fatalf("/thumbnail: %d", resp.StatusCode)
	}

	// The same content again: nothing stored.
	again := send("copy.jpg", good)
	if !again.Duplicate || again.Photo != res.Photo {
		t.Fatalf("the same content again: %+v", again)
	}
	if got := uploads(); len(got) != 1 {
		t.Fatalf("%d objects after a duplicate, want 1", len(got))
	}
	// Another photo under the same name: a name of its own, nothing overwritten.
	other := send("IMG 1.JPG", jpegOf(t, 320, 240, 9))
	if got := uploads(); len(got) != 2 || !bytes.Equal(got[key], good) || got["sb/uploads/local/"+month+"/IMG 1-2.jpg"] == nil {
		t.Fatalf("objects after a second IMG 1.JPG: %v", slices.Collect(maps.Keys(got)))
	}

	// Videos: one played from the bucket as it is, one converted.
	clips := t.TempDir()
	videotest.Write(t, clips)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(clips, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	h264, vp9 := read("h264.mp4"), read("vp9.webm")
	playable, converted := send("h264.mp4", h264), send("vp9.webm", vp9)
	drain()
	req, _ = http.NewRequest(http.MethodGet, ws.URL+"/video/"+playable.Photo, nil)
	req.Header.Set("Range", "bytes=0-99")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		part, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, h264[:100]) {
			t.Fatalf("/video of an uploaded H.264: %d, %d bytes", resp.StatusCode, len(part))
		}
	}
	if resp, body := get(t, ws.URL+"/video/"+converted.Photo); resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "video/mp4") || len(body) == 0 {
		t.Fatalf("/video of an uploaded VP9: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, content := range [][]byte{h264, vp9} {
		if left := onDisk(content); len(left) != 0 {
			t.Fatalf("a video stayed on disk: %v", left)
		}
	}

	// A rescan lists the objects and finds them as indexed.
	if err := r.EnqueueScan(ctx, root); err != nil {
		t.Fatal(err)
	}
	drain()
	if p, err := st.Photo(ctx, storage.Scope{}, res.Photo); err != nil || p.ThumbWidth == 0 {
		t.Fatalf("after a rescan: %+v %v", p, err)
	}
	if resp, body := get(t, ws.URL+"/original/"+other.Photo); resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Fatalf("/original of the second upload after a rescan: %d", resp.StatusCode)
	}

	// An object rewritten behind Shoebox's back is not served as the
	// photo indexed (the note's ETag no longer matches).
	otherKey := "sb/uploads/local/" + month + "/IMG 1-2.jpg"
	if _, err := mc.PutObject(ctx, srv.Bucket, otherKey, strings.NewReader("swapped"), 7, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, ws.URL+"/original/"+other.Photo); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "swapped") {
		t.Fatalf("/original of a rewritten object: %d %q, want 404", resp.StatusCode, body)
	}

	// Trashed, then the trash emptied: the object goes.
	yes := true
	if _, err := st.SetStates(ctx, storage.Scope{}, []string{res.Photo}, storage.StatePatch{Trashed: &yes}); err != nil {
		t.Fatal(err)
	}
	if n, err := jobs.EmptyTrash(ctx, st, 0); err != nil || n != 1 {
		t.Fatalf("empty trash: %d %v", n, err)
	}
	drain()
	if _, err := mc.StatObject(ctx, srv.Bucket, key, minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		t.Fatalf("the purged upload's object: %v, want NoSuchKey", err)
	}
	if _, err := st.Photo(ctx, storage.Scope{}, res.Photo); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the purged photo: %v", err)
	}
	if got := uploads(); len(got) != 3 {
		t.Fatalf("%d objects left, want the 3 others", len(got))
	}
}

package jobs_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/minio/minio-go/v7"

	"shoebox/internal/media/videotest"
	"shoebox/internal/objstore"
	"shoebox/internal/objstore/s3test"
	"shoebox/internal/thumbs"
)

// With media on S3 (a real SeaweedFS), indexing PUTs each photo's
// thumbnail, preview and note, the transcode job its conversion (the
// marker removed after), and a removed photo's objects are deleted.
func TestIndexToS3(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	b, err := objstore.OpenS3(ctx, srv.Options("jobs"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := objstore.NewCache(b, objstore.CacheOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t)
	e.store = thumbs.Remote(c)
	clips := t.TempDir()
	videotest.Write(t, clips)
	copyFile(t, filepath.Join(clips, "vp9.webm"), filepath.Join(e.lib, "vp9.webm"))
	copyFile(t, fixture(t, "gps/nikon_d2h_gps.jpg"), filepath.Join(e.lib, "b.jpg"))
	e.run()
	photo, vp9 := e.photoOf(t, "b.jpg"), e.photoOf(t, "vp9.webm")
	if photo == "" || vp9 == "" {
		t.Fatalf("not indexed: %q %q", photo, vp9)
	}
	mc, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	has := func(id string, kind thumbs.Kind) bool {
		_, err := mc.StatObject(ctx, srv.Bucket, "jobs/"+id[:2]+"/"+id+"."+string(kind), minio.StatObjectOptions{})
		return err == nil
	}
	for _, k := range []thumbs.Kind{thumbs.Thumb, thumbs.Preview, thumbs.Source} {
		if !has(photo, k) || !has(vp9, k) {
			t.Errorf("%s: photo %v, video %v on S3", k, has(photo, k), has(vp9, k))
		}
	}
	if !has(vp9, thumbs.Transcode) || has(vp9, thumbs.Converting) {
		t.Errorf("conversion on S3 %v, marker %v", has(vp9, thumbs.Transcode), has(vp9, thumbs.Converting))
	}
	if has(photo, thumbs.Transcode) {
		t.Error("a photo converted")
	}
	// Read back through the store, as the web would.
	if o, err := e.store.ReadSource(photo); err != nil || o.Path != filepath.Join(e.lib, "b.jpg") {
		t.Errorf("note of the photo: %+v %v", o, err)
	}

	if err := os.Remove(filepath.Join(e.lib, "b.jpg")); err != nil {
		t.Fatal(err)
	}
	e.run()
	for _, k := range []thumbs.Kind{thumbs.Thumb, thumbs.Preview, thumbs.Source} {
		if has(photo, k) {
			t.Errorf("%s of a removed photo still on S3", k)
		}
	}
	if !has(vp9, thumbs.Thumb) {
		t.Error("the video's thumbnail went too")
	}
}

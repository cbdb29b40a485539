package web_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"shoebox/internal/media/videotest"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

// Videos among photos: typed and timed in every list, filtered by
// is:video and is:photo, badged in the gallery, played by /video with
// Range requests when browsers can play them, 415 when they cannot.
func TestVideos(t *testing.T) {
	s := newSite(t, 3, 4, plainName)
	dir := t.TempDir()
	videotest.Write(t, dir)
	ctx := context.Background()
	playable, vp9, photo := s.ids[0], s.ids[1], s.ids[2]
	for _, v := range []struct {
		id, file, format, codec, mime string
		playable                      bool
	}{
		{playable, "h264.mp4", "mp4", "h264", "video/mp4", true},
		{vp9, "vp9.webm", "webm", "vp9", "video/webm", false},
	} {
		err := s.st.SavePhotoResult(ctx, v.id, storage.PhotoResult{Format: v.format, Width: 160, Height: 120,
			ThumbWidth: 160, ThumbHeight: 120, TakenAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Placeholder: placeholder,
			Video: &storage.VideoResult{Duration: 2.02, VideoCodec: v.codec, AudioCodec: "aac"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.store.WriteSource(v.id, filepath.Join(dir, v.file), &thumbs.Video{Playable: v.playable, MIME: v.mime}); err != nil {
			t.Fatal(err)
		}
	}

	_, body := get(t, s.srv.URL+"/api/photos")
	list := photoPage(t, body)
	if len(list.Photos) != 3 {
		t.Fatalf("list: %s", body)
	}
	for _, p := range list.Photos {
		switch p["id"] {
		case playable, vp9:
			if p["type"] != "video" || p["duration"] != 2.02 || p["video_url"] != "/video/"+p["id"].(string) {
				t.Errorf("video entry %v", p)
			}
		case photo:
			if _, has := p["duration"]; p["type"] != "photo" || has {
				t.Errorf("photo entry %v", p)
			}
		}
	}
	for q, want := range map[string][]string{"is:video": {playable, vp9}, "is:photo": {photo}} {
		_, body := get(t, s.srv.URL+"/api/search?q="+q)
		page := photoPage(t, body)
		got := map[string]bool{}
		for _, p := range page.Photos {
			got[p["id"].(string)] = true
		}
		for _, id := range want {
			if !got[id] {
				t.Errorf("%s: %v lacks %s", q, got, id)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %v, want %v", q, got, want)
		}
	}
	if _, body := get(t, s.srv.URL+"/"); strings.Count(body, `<span class="dur" title="Video">0:02</span>`) != 2 {
		t.Errorf("gallery: want two duration badges of 0:02")
	}
	if _, body := get(t, s.srv.URL+"/photo/"+playable); !strings.Contains(body, `<video class="preview" controls preload="metadata" poster="/preview/`+playable+`?v=1" src="/video/`+playable+`"`) {
		t.Errorf("photo page has no player")
	}

	orig, err := os.ReadFile(filepath.Join(dir, "h264.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", s.srv.URL+"/video/"+playable, nil)
	req.Header.Set("Range", "bytes=100-199")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 200)
	n, _ := resp.Body.Read(part)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Type") != "video/mp4" ||
		resp.Header.Get("Content-Range") != "bytes 100-199/"+strconv.Itoa(len(orig)) || string(part[:n]) != string(orig[100:200]) {
		t.Errorf("range: %d %v, %d bytes", resp.StatusCode, resp.Header, n)
	}
	// Many tiny parts are not honoured: the whole file instead.
	req.Header.Set("Range", "bytes="+strings.Repeat("0-0,", 40)+"1-1")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("many ranges: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	if resp, body := get(t, s.srv.URL+"/video/"+vp9); resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(body, "video/webm") {
		t.Errorf("vp9: %d %q", resp.StatusCode, body)
	}
	// Its conversion queued (the marker the job leaves): being converted.
	if err := s.store.Write(vp9, thumbs.Converting, nil); err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, s.srv.URL+"/video/"+vp9); resp.StatusCode != http.StatusServiceUnavailable ||
		resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "being converted") {
		t.Errorf("vp9 queued: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	// Converted: the MP4 beside the thumbnail is what plays, with Range.
	conv := []byte(strings.Repeat("converted mp4 bytes ", 100))
	if err := s.store.Write(vp9, thumbs.Transcode, conv); err != nil {
		t.Fatal(err)
	}
	s.store.RemoveKind(vp9, thumbs.Converting)
	req, _ = http.NewRequest("GET", s.srv.URL+"/video/"+vp9, nil)
	req.Header.Set("Range", "bytes=20-59")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Error(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Type") != "video/mp4" || string(b) != string(conv[20:60]) {
			t.Errorf("converted vp9: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
	if resp, _ := get(t, s.srv.URL+"/video/"+photo); resp.StatusCode != 404 {
		t.Errorf("a photo's /video: %d, want 404", resp.StatusCode)
	}
}

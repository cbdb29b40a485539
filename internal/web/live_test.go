package web_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shoebox/internal/media/videotest"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

// A Live Photo: the still is listed once, marked with live_video_url and a
// LIVE badge, and its page plays the movie muted in place; the movie
// leaves the lists but /video plays it.
func TestLivePhotos(t *testing.T) {
	s := newSite(t, 3, 4, plainName)
	dir := t.TempDir()
	videotest.Write(t, dir)
	ctx := context.Background()
	still, movie, plain := s.ids[0], s.ids[1], s.ids[2]
	taken := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.st.SavePhotoResult(ctx, movie, storage.PhotoResult{Format: "mov", Width: 160, Height: 120,
		ThumbWidth: 160, ThumbHeight: 120, TakenAt: taken, Placeholder: placeholder, ContentID: "F61FDA97-19FB-4D2E-9173-3B6128AD0FD4",
		Video: &storage.VideoResult{Duration: 2.02, VideoCodec: "h264", AudioCodec: "aac"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.store.WriteSource(movie, filepath.Join(dir, "h264.mp4"), &thumbs.Video{Playable: true, MIME: "video/mp4"}); err != nil {
		t.Fatal(err)
	}
	if err := s.st.SavePhotoResult(ctx, still, storage.PhotoResult{Format: "heif", Width: 4032, Height: 3024,
		ThumbWidth: 250, ThumbHeight: 188, TakenAt: taken, Placeholder: placeholder, ContentID: "F61FDA97-19FB-4D2E-9173-3B6128AD0FD4"}); err != nil {
		t.Fatal(err)
	}

	_, body := get(t, s.srv.URL+"/api/photos")
	list := photoPage(t, body)
	if len(list.Photos) != 2 {
		t.Fatalf("want the still and the plain photo only: %s", body)
	}
	for _, p := range list.Photos {
		switch p["id"] {
		case still:
			if p["live_video_url"] != "/video/"+movie || p["type"] != "photo" {
				t.Errorf("still %v", p)
			}
		case plain:
			if _, has := p["live_video_url"]; has {
				t.Errorf("plain photo %v", p)
			}
		default:
			t.Errorf("listed: %v", p)
		}
	}
	if _, body := get(t, s.srv.URL+"/api/photos/"+still); !strings.Contains(body, `"live_video_url":"/video/`+movie+`"`) {
		t.Errorf("api photo: %s", body)
	}
	if _, body := get(t, s.srv.URL+"/api/search?q=is:video"); strings.Contains(body, movie) {
		t.Errorf("is:video lists the paired movie: %s", body)
	}
	if _, body := get(t, s.srv.URL+"/"); strings.Count(body, `<span class="live" title="Live Photo">LIVE</span>`) != 1 || strings.Contains(body, movie) {
		t.Errorf("gallery: want one LIVE badge and no movie tile")
	}
	_, page := get(t, s.srv.URL+"/photo/"+still)
	if !strings.Contains(page, `<video class="preview live-motion" src="/video/`+movie+`" muted playsinline preload="none" hidden></video>`) ||
		!strings.Contains(page, `<a class="live-btn" href="/video/`+movie+`"`) || !strings.Contains(page, `/live.js"`) || strings.Contains(page, "/static/missing/") {
		t.Errorf("photo page has no Live Photo player")
	}
	if _, page := get(t, s.srv.URL+"/photo/"+plain); strings.Contains(page, "live-motion") {
		t.Errorf("a plain photo's page plays motion")
	}
	req, _ := http.NewRequest("GET", s.srv.URL+"/video/"+movie, nil)
	req.Header.Set("Range", "bytes=0-99")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Type") != "video/mp4" {
		t.Errorf("/video of the paired movie: %d %v", resp.StatusCode, resp.Header)
	}
}

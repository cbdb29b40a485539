package web

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"shoebox/internal/library"
	"shoebox/internal/place"
	"shoebox/internal/storage"
)

// One photo: its page, /api/photos/{id}, its neighbours, and the API's
// shape of a photo and of a photo list.

// pathID reads the {id} of a photo route. An id not of a photo's shape
// names no photo: a 404, before any query.
func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !library.ValidID(id) {
		return "", fmt.Errorf("photo %.40q: %w", id, storage.ErrNotFound)
	}
	return id, nil
}

// pathPhoto loads the photo named by the route's {id}, when r may see
// it: one it may not is not found, like one that does not exist.
func (s *Server) pathPhoto(r *http.Request) (*storage.Photo, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return s.st.Photo(r.Context(), s.scope(r), id)
}

// photo is GET /photo/{id}.
func (s *Server) photo(w http.ResponseWriter, r *http.Request) {
	p, err := s.pathPhoto(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	similar, err := s.similarTo(r.Context(), s.scope(r), p.ID, 12)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	albums, err := s.st.Albums(r.Context(), s.scope(r).User())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var editable []storage.Album
	for _, a := range albums {
		if a.CanEdit() {
			editable = append(editable, a)
		}
	}
	added := ""
	for _, a := range albums {
		if strconv.FormatInt(a.ID, 10) == r.URL.Query().Get("added") {
			added = a.Name
		}
	}
	faces, err := s.st.PhotoFaces(r.Context(), p.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	mine, err := s.ownedFaces(r, faces)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "photo", map[string]any{"Photo": p, "Similar": similar, "Tags": p.Tags, "Albums": editable, "Added": added, "Faces": faces, "Mine": mine})
}

// apiPhoto is one photo as JSON.
type apiPhoto struct {
	ID           string `json:"id"`
	Path         string `json:"path"`
	ThumbnailURL string `json:"thumbnail_url"`
	PreviewURL   string `json:"preview_url"`
	OriginalURL  string `json:"original_url"`
	// Type is "photo" or "video". A video has Duration (seconds) and
	// VideoURL, where it plays; both are left out for a photo.
	Type     string   `json:"type"`
	Duration *float64 `json:"duration,omitempty"`
	VideoURL string   `json:"video_url,omitempty"`
	// LiveVideoURL is where a Live Photo's still plays its motion (the
	// paired movie, which lists leave out); absent for anything else.
	LiveVideoURL string `json:"live_video_url,omitempty"`
	// TakenAt is the local time the photo was taken, as recorded:
	// "2019-06-01T14:03:11+02:00" when the zone is known, and
	// "2019-06-01T14:03:11" (no zone, never a "Z" that was not written)
	// when it is not; TakenAtOffset is then null.
	TakenAt       string  `json:"taken_at"`
	TakenAtOffset *string `json:"taken_at_offset"`
	Width         int     `json:"width"`
	Height        int     `json:"height"`
	ThumbWidth    int     `json:"thumb_width"`      // the thumbnail's size (upright): the timeline lays rows out by its shape
	ThumbHeight   int     `json:"thumb_height"`     // 0 when not made yet
	Damaged       bool    `json:"damaged"`          // shown as far as a truncated or corrupt file decodes
	Damage        string  `json:"damage,omitempty"` // the decoder's warning, when damaged
	Favorite      bool    `json:"favorite"`         // the asker's own state of the photo
	Archived      bool    `json:"archived"`
	Trashed       bool    `json:"trashed"`
	// Place is where it was taken (GeoNames and Natural Earth names in
	// English; region or city "" where unknown): on /api/photos/{id} only,
	// absent without a GPS position, at sea, or before it is placed.
	Place *place.Place `json:"place,omitempty"`
	// Faces are the faces found on it, largest first: on /api/photos/{id}
	// only, where it is always a list (empty when none were found).
	Faces  *[]apiFace `json:"faces,omitempty"`
	Detail *apiDetail `json:"detail,omitempty"`
}

type apiDetail struct {
	State        string        `json:"state"`
	Error        string        `json:"error,omitempty"`
	Format       string        `json:"format"`
	Size         int64         `json:"size"`
	TakenOffset  *int          `json:"taken_offset_minutes"`
	TakenSource  string        `json:"taken_source"` // "exif", "xmp", "iptc" or "file"
	Make         string        `json:"camera_make"`
	Model        string        `json:"camera_model"`
	Lens         string        `json:"lens"`
	LensMake     string        `json:"lens_make"`
	Exposure     string        `json:"exposure"`      // as printed: "1/250"
	ExposureTime float64       `json:"exposure_time"` // seconds, the exact stored value; 0 if unknown
	FNumber      float64       `json:"fnumber"`
	ISO          int           `json:"iso"`
	FocalLength  float64       `json:"focal_length"` // mm
	Lat          *float64      `json:"lat"`
	Lon          *float64      `json:"lon"`
	Alt          *float64      `json:"alt"`
	Orientation  int           `json:"orientation"`
	VideoCodec   string        `json:"video_codec,omitempty"` // a video's, as ffmpeg names it: "h264", "hevc", "vp9"
	AudioCodec   string        `json:"audio_codec,omitempty"` // "" for a video without sound, and for a photo
	Tags         []storage.Tag `json:"tags"`
	Files        []apiFile     `json:"files"`
}

// apiFile is one file holding the photo: its path inside its library and
// which library, never the server's absolute path.
type apiFile struct {
	LibraryID int    `json:"library_id"`
	Library   string `json:"library"` // the library folder's name
	Path      string `json:"path"`    // relative to the library folder
}

func toAPI(p storage.PhotoSummary) apiPhoto {
	taken, zone := localTime(p)
	a := apiPhoto{ID: p.ID, Path: p.Path, ThumbnailURL: "/thumbnail/" + p.ID + "?v=1",
		PreviewURL: "/preview/" + p.ID + "?v=1", OriginalURL: "/original/" + p.ID,
		TakenAt: taken.Format("2006-01-02T15:04:05.999999999") + zone, Width: p.Width, Height: p.Height,
		ThumbWidth: p.ThumbWidth, ThumbHeight: p.ThumbHeight, Damaged: p.Damage != "", Damage: p.Damage, Favorite: p.Favorite, Archived: p.Archived, Trashed: p.Trashed}
	if zone != "" {
		a.TakenAtOffset = &zone
	}
	a.Type = p.MediaType
	if p.MediaType == "video" {
		d := p.Duration
		a.Duration, a.VideoURL = &d, "/video/"+p.ID
	}
	if p.LiveVideo != "" {
		a.LiveVideoURL = "/video/" + p.LiveVideo
	}
	return a
}

// localTime is when a photo was taken on the clock where it was taken, and
// its zone as "+hh:mm" ("" when unknown). Storage keeps the wall clock
// labelled UTC.
func localTime(p storage.PhotoSummary) (time.Time, string) {
	t := p.TakenAt.UTC()
	if p.TakenOffset == nil {
		return t, ""
	}
	return t, time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("", *p.TakenOffset*60)).Format("-07:00")
}

// libraryName names a library by its folder's last element.
func libraryName(root string) string { return filepath.Base(root) }

// apiPhoto is GET /api/photos/{id}: one photo with all its metadata.
func (s *Server) apiPhoto(w http.ResponseWriter, r *http.Request) {
	p, err := s.pathPhoto(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tags := p.Tags
	if tags == nil {
		tags = []storage.Tag{}
	}
	faces, err := s.st.PhotoFaces(r.Context(), p.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a := toAPI(p.PhotoSummary)
	a.Place = p.Place
	af := toAPIFaces(faces)
	a.Faces = &af
	files := make([]apiFile, 0, len(p.Files))
	for _, f := range p.Files {
		files = append(files, apiFile{LibraryID: f.LibraryID, Library: libraryName(f.Root), Path: f.RelPath})
	}
	a.Detail = &apiDetail{State: p.State, Error: p.Error, Format: p.Format, Size: p.Size,
		TakenOffset: p.TakenOffset, TakenSource: p.TakenSource, Make: p.Make, Model: p.Model,
		Lens: p.Lens, LensMake: p.LensMake, Exposure: p.Exposure, ExposureTime: p.ExposureSec,
		FNumber: p.FNumber, ISO: p.ISO, FocalLength: p.FocalLength,
		Lat: p.Lat, Lon: p.Lon, Alt: p.Alt, Orientation: p.Orientation, VideoCodec: p.VideoCodec, AudioCodec: p.AudioCodec, Files: files, Tags: tags}
	writeJSON(w, http.StatusOK, a)
}

// apiList is the shape of every photo list in the API: /api/photos,
// /api/search, /api/photos/{id}/similar.
type apiList struct {
	Photos []apiPhoto `json:"photos"`
	Next   *string    `json:"next"`
}

// photoList builds an apiList; next "" means no further page.
func photoList(photos []storage.PhotoSummary, next string) apiList {
	out := apiList{Photos: make([]apiPhoto, 0, len(photos))}
	for _, ph := range photos {
		out.Photos = append(out.Photos, toAPI(ph))
	}
	if next != "" {
		out.Next = &next
	}
	return out
}

// apiSimilar is GET /api/photos/{id}/similar: nearest neighbours, best first.
func (s *Server) apiSimilar(w http.ResponseWriter, r *http.Request) {
	// A photo that does not exist is a 404, as on every other photo
	// route, not an empty list (that would also answer for any id).
	p, err := s.pathPhoto(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	photos, err := s.similarTo(r.Context(), s.scope(r), p.ID, 24)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, photoList(photos, ""))
}

func (s *Server) similarTo(ctx context.Context, scope storage.Scope, id string, n int) ([]storage.PhotoSummary, error) {
	if s.embed == nil {
		return nil, nil
	}
	vec, err := s.st.EmbeddingOf(ctx, s.embed.Name(), id)
	if err != nil {
		if errorsIsNotFound(err) {
			return nil, nil // not embedded yet
		}
		return nil, err
	}
	photos, _, err := s.st.Nearest(ctx, storage.NearestParams{Model: s.embed.Name(), Vector: vec, Limit: n, Exclude: id, Scope: scope,
		Only: storage.NotTrashed})
	return photos, err
}

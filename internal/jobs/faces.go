package jobs

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // previews are JPEG
	"io/fs"
	"math"
	"os"
	"time"

	"github.com/riverqueue/river"

	"shoebox/internal/ai"
	"shoebox/internal/face"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

// FacesVersion is the face pipeline's version recorded on each photo it
// has looked at (photos.faces_version): raising it looks at every photo
// again.
const FacesVersion = 1

// The bounds of one photo's face detection, on its preview (at most
// 1440 pixels a side, so an original's size costs nothing here).
const (
	maxFaces      = 100             // the highest-scoring faces kept
	minFacePixels = 20              // a face box narrower or shorter is skipped
	faceTimeLimit = 2 * time.Minute // then the photo is done, with no faces
	maxFacePixels = 50_000_000      // a larger preview is not decoded
)

// facesOn says whether this process finds faces: asked to (Options.Faces)
// and the face-api models were found when the runner was made.
func (r *Runner) facesOn() bool { return r.faceDir != "" }

// facePipeline loads the face networks on first use, once per process,
// and shares them between workers (each network runs one photo at a
// time). A load that fails is logged once; faces are then skipped (the
// photos stay to do, found again at the next start).
func (r *Runner) facePipeline() *face.Pipeline {
	r.faceMu.Lock()
	defer r.faceMu.Unlock()
	if r.facePipe != nil || r.faceFailed {
		return r.facePipe
	}
	start := time.Now()
	p, err := func() (*face.Pipeline, error) {
		if err := ai.InitORT(r.opts.ORTLib, r.opts.Workers); err != nil {
			return nil, err
		}
		return face.NewPipeline(r.faceDir, r.opts.Workers)
	}()
	if err != nil {
		r.faceFailed = true
		r.log.Warn("faces: models do not load; faces are skipped", "models", r.faceDir, "err", err)
		return nil
	}
	r.log.Info("faces: models loaded", "models", r.faceDir, "took", time.Since(start).Round(time.Millisecond))
	r.facePipe = p
	return p
}

// closeFaces releases the face networks, if loaded.
func (r *Runner) closeFaces() {
	r.faceMu.Lock()
	defer r.faceMu.Unlock()
	if r.facePipe != nil {
		r.facePipe.Close()
		r.facePipe = nil
	}
}

// prepareFaces queues the faces job of every indexed photo not yet looked
// at by this version of the pipeline: photos indexed before faces were
// found, or while they were off.
func (r *Runner) prepareFaces(ctx context.Context) {
	if !r.facesOn() {
		return
	}
	ids, err := r.st.MissingFaces(ctx, FacesVersion)
	if err != nil {
		r.log.Warn("jobs: enqueue faces", "err", err)
		return
	}
	for rest := ids; len(rest) > 0; {
		n := min(len(rest), 1000)
		jobs := make([]river.JobArgs, n)
		for i, id := range rest[:n] {
			jobs[i] = FacesJob(id)
		}
		if err := r.st.Enqueue(ctx, jobs...); err != nil {
			r.log.Warn("jobs: enqueue faces", "err", err)
			return
		}
		rest = rest[n:]
	}
	if len(ids) > 0 {
		r.log.Info("jobs: photos to look for faces on", "photos", len(ids))
	}
}

// faces finds the faces on photo id's preview (made by processing,
// upright: a video's is its poster frame) and saves them, grouped into
// people, marking the photo done. A preview that does not decode, or
// takes longer than faceTimeLimit, leaves the photo done with no faces:
// retrying would not help. A photo without a preview (removed or failed
// since) has nothing to look at.
func (r *Runner) faces(ctx context.Context, id string) error {
	p := r.facePipeline()
	if p == nil {
		return nil
	}
	path, done, err := r.store.Local(ctx, id, thumbs.Preview)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err // the media store out of reach: retried
	}
	defer done()
	found, err := findFaces(ctx, p, path)
	if ctx.Err() != nil {
		return ctx.Err() // stopping: retried
	}
	if err != nil {
		r.log.Warn("faces: photo left without faces", "photo", id, "err", err)
		found = nil
	}
	if err := r.st.SavePhotoFaces(ctx, id, FacesVersion, found); err != nil {
		return err
	}
	r.met.faces.Add(float64(len(found)))
	return nil
}

// findFaces runs the pipeline on the JPEG at path, within faceTimeLimit:
// at most maxFaces faces (the highest scores), none smaller than
// minFacePixels, boxes as fractions of the image.
func findFaces(ctx context.Context, p *face.Pipeline, path string) ([]storage.Face, error) {
	rgb, w, h, err := decodeRGB(path)
	if err != nil {
		return nil, err
	}
	fctx, cancel := context.WithTimeout(ctx, faceTimeLimit)
	defer cancel()
	faces, err := p.Faces(fctx, rgb, w, h, face.DetectOptions{MaxResults: maxFaces, MinSize: minFacePixels})
	if err != nil {
		return nil, err
	}
	var out []storage.Face
	for _, f := range faces {
		x0, y0 := math.Max(f.Box.X, 0), math.Max(f.Box.Y, 0)
		x1, y1 := math.Min(f.Box.X+f.Box.W, float64(w)), math.Min(f.Box.Y+f.Box.H, float64(h))
		if x1 <= x0 || y1 <= y0 {
			continue
		}
		out = append(out, storage.Face{
			Box:       [4]float32{float32(x0 / float64(w)), float32(y0 / float64(h)), float32((x1 - x0) / float64(w)), float32((y1 - y0) / float64(h))},
			Score:     float32(f.Score),
			Embedding: f.Descriptor,
		})
	}
	return out, nil
}

// decodeRGB decodes an image file into RGB bytes (3 a pixel, row by row).
func decodeRGB(path string) ([]byte, int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("decode preview: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxFacePixels {
		return nil, 0, 0, fmt.Errorf("decode preview: %dx%d pixels", cfg.Width, cfg.Height)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, 0, 0, err
	}
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("decode preview: %w", err)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	rgb := make([]byte, 0, w*h*3)
	switch m := img.(type) {
	case *image.YCbCr:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				rgb = append(rgb, r, g, bl)
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
				rgb = append(rgb, c.R, c.G, c.B)
			}
		}
	}
	return rgb, w, h, nil
}

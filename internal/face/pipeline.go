package face

import (
	"context"
	"math"
)

// Face is one face found by Pipeline.Faces.
type Face struct {
	Detection
	// Landmarks are the 68 landmarks, in the image's pixels.
	Landmarks [68]Point
	// Aligned is the box the descriptor was computed on (face-api's dlib-style
	// alignment: a square sized by the eye-to-mouth distance around the eyes
	// and mouth), in the image's pixels, clipped to it.
	Aligned Box
	// Descriptor is the 128-d face descriptor (not normalised; face-api's
	// "same person" threshold is a Euclidean distance of 0.6).
	Descriptor []float32
}

// Pipeline runs the three networks as face-api's
// detectAllFaces(img).withFaceLandmarks().withFaceDescriptors() does.
type Pipeline struct {
	Detector   *Detector
	Landmarker *Landmarker
	Recognizer *Recognizer
}

// NewPipeline opens the three networks from modelDir (DefaultModelDir()
// when empty).
func NewPipeline(modelDir string, threads int) (*Pipeline, error) {
	p := &Pipeline{}
	var err error
	if p.Detector, err = NewDetector(modelDir, threads); err != nil {
		return nil, err
	}
	if p.Landmarker, err = NewLandmarker(modelDir, threads); err != nil {
		p.Close()
		return nil, err
	}
	if p.Recognizer, err = NewRecognizer(modelDir, threads); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Close releases the sessions.
func (p *Pipeline) Close() {
	if p.Detector != nil {
		p.Detector.Close()
	}
	if p.Landmarker != nil {
		p.Landmarker.Close()
	}
	if p.Recognizer != nil {
		p.Recognizer.Close()
	}
}

// Faces finds the faces in an RGB image (3 bytes a pixel, width x height),
// with their landmarks and descriptors.
func (p *Pipeline) Faces(ctx context.Context, rgb []byte, width, height int, opt DetectOptions) ([]Face, error) {
	dets, err := p.Detector.Detect(ctx, rgb, width, height, opt)
	if err != nil {
		return nil, err
	}
	var out []Face
	for _, d := range dets {
		if d.Box.W < opt.MinSize || d.Box.H < opt.MinSize {
			continue
		}
		// face-api: extractFaceTensors crops the box clipped at the image
		// borders and floored; the landmarks are then shifted by the
		// (unfloored) box corner.
		cb := clipFloor(d.Box, width, height)
		if cb.W <= 0 || cb.H <= 0 {
			continue
		}
		crop, cw, ch := cropBox(rgb, width, cb)
		pts, err := p.Landmarker.Landmarks(ctx, crop, cw, ch)
		if err != nil {
			return nil, err
		}
		for i := range pts {
			pts[i].X += d.Box.X
			pts[i].Y += d.Box.Y
		}
		ab := clipFloor(alignDlib(pts, cw, ch), width, height)
		if ab.W <= 0 || ab.H <= 0 {
			continue
		}
		crop, cw, ch = cropBox(rgb, width, ab)
		desc, err := p.Recognizer.Describe(ctx, crop, cw, ch)
		if err != nil {
			return nil, err
		}
		out = append(out, Face{Detection: d, Landmarks: pts, Aligned: ab, Descriptor: desc})
	}
	return out, nil
}

// clipFloor is face-api's Box.clipAtImageBorders (which floors).
func clipFloor(b Box, width, height int) Box {
	x, y := math.Max(b.X, 0), math.Max(b.Y, 0)
	w := math.Min(b.X+b.W-x, float64(width)-x)
	h := math.Min(b.Y+b.H-y, float64(height)-y)
	return Box{X: math.Floor(x), Y: math.Floor(y), W: math.Floor(w), H: math.Floor(h)}
}

// cropBox cuts an integer box (inside the image) out of an RGB image.
func cropBox(rgb []byte, width int, b Box) ([]byte, int, int) {
	x0, y0, w, h := int(b.X), int(b.Y), int(b.W), int(b.H)
	out := make([]byte, 0, w*h*3)
	for y := y0; y < y0+h; y++ {
		out = append(out, rgb[(y*width+x0)*3:(y*width+x0+w)*3]...)
	}
	return out, w, h
}

// alignDlib is face-api's FaceLandmarks.alignDlib: a square of side
// eye-to-mouth distance / 0.45 placed at 0.5 / 0.43 of its side from the
// centre of the eyes and mouth. As face-api does, the "image" size it clips
// against is the size of the crop the landmarks were found in.
func alignDlib(pts [68]Point, cropW, cropH int) Box {
	centre := func(ps []Point) Point {
		var s Point
		for _, p := range ps {
			s.X += p.X
			s.Y += p.Y
		}
		return Point{s.X / float64(len(ps)), s.Y / float64(len(ps))}
	}
	le, re, mouth := centre(pts[36:42]), centre(pts[42:48]), centre(pts[48:68])
	dist := func(a Point) float64 {
		dx, dy := mouth.X-a.X, mouth.Y-a.Y
		return math.Sqrt(dx*dx + dy*dy)
	}
	size := math.Floor((dist(le) + dist(re)) / 2 / 0.45)
	ref := centre([]Point{le, re, mouth})
	x := math.Floor(math.Max(0, ref.X-0.5*size))
	y := math.Floor(math.Max(0, ref.Y-0.43*size))
	return Box{X: x, Y: y, W: math.Min(size, float64(cropW)+x), H: math.Min(size, float64(cropH)+y)}
}

package face

import (
	"context"
	"fmt"
	"math"
	"sort"

	ort "github.com/yalue/onnxruntime_go"
)

// Box is a rectangle in an image's pixel coordinates.
type Box struct {
	X, Y, W, H float64
}

// Detection is one face found by Detector.Detect.
type Detection struct {
	Score float64
	Box   Box
}

// DetectOptions are face-api's SsdMobilenetv1Options.
type DetectOptions struct {
	MinConfidence float64 // default 0.5
	MaxResults    int     // default 100
	// MinSize skips faces whose box is narrower or shorter than this many
	// pixels before their landmarks and descriptor are computed
	// (Pipeline.Faces only). Default 0: none skipped.
	MinSize float64
}

// Detector finds faces with face-api's SSD MobileNet v1 detector in ONNX
// Runtime, with face-api's post-processing (box decoding against its anchors,
// sigmoid scores, its non-maximum suppression at IoU 0.5). Safe for
// concurrent use (runs are serialised).
type Detector struct {
	sess    *session
	anchors []float32 // [detectorAnchors][4]
}

// NewDetector loads ssd_mobilenetv1_model from modelDir (DefaultModelDir()
// when empty), builds the ONNX graph and opens a session.
func NewDetector(modelDir string, threads int) (*Detector, error) {
	if modelDir == "" {
		if modelDir = DefaultModelDir(); modelDir == "" {
			return nil, ErrModelsNotFound
		}
	}
	w, err := LoadWeights(modelDir, "ssd_mobilenetv1_model")
	if err != nil {
		return nil, err
	}
	anchors, ok := w["Output/extra_dim"]
	if !ok || len(anchors.Data) != detectorAnchors*4 {
		return nil, fmt.Errorf("face: detector weights: Output/extra_dim missing or not [1 %d 4]", detectorAnchors)
	}
	model, err := BuildDetectorONNX(w)
	if err != nil {
		return nil, err
	}
	sess, err := newSession("detector", model, []string{"image"}, []string{"boxes", "classes"}, threads)
	if err != nil {
		return nil, err
	}
	return &Detector{sess: sess, anchors: anchors.Data}, nil
}

// Close releases the session.
func (d *Detector) Close() { d.sess.close() }

// Detect finds the faces in an RGB image (3 bytes a pixel, row by row,
// width x height). As face-api does, the image is padded to a square with
// zeros at the bottom or right, resized to 512x512 (bilinear, TensorFlow's
// resize without half-pixel centres), and the boxes are clipped to it.
func (d *Detector) Detect(ctx context.Context, rgb []byte, width, height int, opt DetectOptions) ([]Detection, error) {
	if width <= 0 || height <= 0 || len(rgb) != width*height*3 {
		return nil, fmt.Errorf("face: detect: %d bytes for %dx%d RGB", len(rgb), width, height)
	}
	if opt.MinConfidence <= 0 {
		opt.MinConfidence = 0.5
	}
	if opt.MaxResults <= 0 {
		opt.MaxResults = 100
	}
	in := squareResize(rgb, width, height, DetectorSize, false)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	inT, err := ort.NewTensor(ort.NewShape(1, DetectorSize, DetectorSize, 3), in)
	if err != nil {
		return nil, fmt.Errorf("face: input tensor: %w", err)
	}
	defer inT.Destroy()
	boxT, err := ort.NewEmptyTensor[float32](ort.NewShape(1, detectorAnchors, 4))
	if err != nil {
		return nil, fmt.Errorf("face: output tensor: %w", err)
	}
	defer boxT.Destroy()
	clsT, err := ort.NewEmptyTensor[float32](ort.NewShape(1, detectorAnchors, 3))
	if err != nil {
		return nil, fmt.Errorf("face: output tensor: %w", err)
	}
	defer clsT.Destroy()
	if err := d.sess.run([]ort.Value{inT}, []ort.Value{boxT, clsT}); err != nil {
		return nil, err
	}
	boxes := decodeBoxes(d.anchors, boxT.GetData())
	cls := clsT.GetData()
	scores := make([]float64, detectorAnchors)
	for i := range scores {
		scores[i] = float64(float32(1 / (1 + math.Exp(-float64(cls[3*i+1])))))
	}
	keep := nonMaxSuppression(boxes, scores, opt.MaxResults, 0.5, opt.MinConfidence)

	// face-api: padX = 512 / reshaped width, where the reshaped size scales
	// the longer side to 512 (rounded).
	scale := float64(DetectorSize) / float64(max(width, height))
	padX := float64(DetectorSize) / math.Round(float64(width)*scale)
	padY := float64(DetectorSize) / math.Round(float64(height)*scale)
	out := make([]Detection, 0, len(keep))
	for _, i := range keep {
		b := boxes[i]
		top, bottom := math.Max(0, float64(b[0]))*padY, math.Min(1, float64(b[2]))*padY
		left, right := math.Max(0, float64(b[1]))*padX, math.Min(1, float64(b[3]))*padX
		out = append(out, Detection{Score: scores[i], Box: Box{
			X: left * float64(width), Y: top * float64(height),
			W: (right - left) * float64(width), H: (bottom - top) * float64(height),
		}})
	}
	return out, nil
}

// squareResize pads rgb to a square with zeros, as face-api's padToSquare
// does (centre: the rounded half of the padding after the image, the rest
// before it; else all of it after), and resizes it to size x size as
// tf.image.resizeBilinear(alignCorners=false, halfPixelCenters=false) does,
// as float32 NHWC.
func squareResize(rgb []byte, width, height, size int, centre bool) []float32 {
	side := max(width, height)
	offX, offY := 0, 0
	if centre {
		diff := side - min(width, height)
		before := diff - int(math.Round(float64(diff)*0.5))
		if height > width {
			offX = before
		} else {
			offY = before
		}
	}
	pix := func(x, y, c int) float64 {
		x, y = x-offX, y-offY
		if x < 0 || y < 0 || x >= width || y >= height {
			return 0
		}
		return float64(rgb[(y*width+x)*3+c])
	}
	out := make([]float32, size*size*3)
	ratio := float64(side) / float64(size)
	for r := 0; r < size; r++ {
		fr := ratio * float64(r)
		r0 := int(math.Max(0, math.Floor(fr)))
		rf := fr - float64(r0)
		r1 := min(side-1, int(math.Ceil(fr)))
		for c := 0; c < size; c++ {
			fc := ratio * float64(c)
			c0 := int(math.Max(0, math.Floor(fc)))
			cf := fc - float64(c0)
			c1 := min(side-1, int(math.Ceil(fc)))
			for ch := 0; ch < 3; ch++ {
				tl, tr := pix(c0, r0, ch), pix(c1, r0, ch)
				bl, br := pix(c0, r1, ch), pix(c1, r1, ch)
				top := tl + (tr-tl)*cf
				bottom := bl + (br-bl)*cf
				out[(r*size+c)*3+ch] = float32(top + (bottom-top)*rf)
			}
		}
	}
	return out
}

// decodeBoxes is face-api's decodeBoxesLayer (float32 arithmetic, as its
// tensors): anchors and results are [ymin, xmin, ymax, xmax].
func decodeBoxes(anchors, enc []float32) [][4]float32 {
	out := make([][4]float32, detectorAnchors)
	for i := range out {
		a := anchors[4*i : 4*i+4]
		e := enc[4*i : 4*i+4]
		s0, s1 := a[2]-a[0], a[3]-a[1]
		c0, c1 := a[0]+s0/2, a[1]+s1/2
		half0 := float32(math.Exp(float64(e[2]/5))) * s0 / 2
		mid0 := e[0]/10*s0 + c0
		half1 := float32(math.Exp(float64(e[3]/5))) * s1 / 2
		mid1 := e[1]/10*s1 + c1
		out[i] = [4]float32{mid0 - half0, mid1 - half1, mid0 + half0, mid1 + half1}
	}
	return out
}

func iou(a, b [4]float32) float64 {
	ay0, ax0 := math.Min(float64(a[0]), float64(a[2])), math.Min(float64(a[1]), float64(a[3]))
	ay1, ax1 := math.Max(float64(a[0]), float64(a[2])), math.Max(float64(a[1]), float64(a[3]))
	by0, bx0 := math.Min(float64(b[0]), float64(b[2])), math.Min(float64(b[1]), float64(b[3]))
	by1, bx1 := math.Max(float64(b[0]), float64(b[2])), math.Max(float64(b[1]), float64(b[3]))
	areaA := (ay1 - ay0) * (ax1 - ax0)
	areaB := (by1 - by0) * (bx1 - bx0)
	if areaA <= 0 || areaB <= 0 {
		return 0
	}
	inter := math.Max(math.Min(ay1, by1)-math.Max(ay0, by0), 0) * math.Max(math.Min(ax1, bx1)-math.Max(ax0, bx0), 0)
	return inter / (areaA + areaB - inter)
}

// nonMaxSuppression is face-api's (ssdMobilenetv1/nonMaxSuppression.ts):
// candidates above scoreThreshold, best first; one is kept unless it
// overlaps a kept box by more than iouThreshold.
func nonMaxSuppression(boxes [][4]float32, scores []float64, maxOut int, iouThreshold, scoreThreshold float64) []int {
	maxOut = min(maxOut, len(boxes))
	var cand []int
	for i, s := range scores {
		if s > scoreThreshold {
			cand = append(cand, i)
		}
	}
	sort.SliceStable(cand, func(a, b int) bool { return scores[cand[a]] > scores[cand[b]] })
	var selected []int
	for _, c := range cand {
		if len(selected) >= maxOut {
			break
		}
		keep := true
		for j := len(selected) - 1; j >= 0; j-- {
			v := iou(boxes[c], boxes[selected[j]])
			if v == 0 {
				continue
			}
			if v > iouThreshold {
				keep = false
				break
			}
		}
		if keep {
			selected = append(selected, c)
		}
	}
	return selected
}

package place

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// country is one country's borders: rings of (lon, lat) points, tested
// even-odd all together (holes and islands alike), behind a bounding box.
type country struct {
	code, name             string // ISO 3166-1 alpha-2 ("" for the few without one), English name
	rings                  [][]float64
	minX, minY, maxX, maxY float64
}

// countryAt is the country whose borders hold lat, lon: its code and
// name ("", "" at sea).
func (ix *Index) countryAt(lat, lon float64) (string, string) {
	for i := range ix.countries {
		c := &ix.countries[i]
		if lat < c.minY || lat > c.maxY {
			continue
		}
		in := false
		for _, x := range [3]float64{lon, lon + 360, lon - 360} { // rings may run past ±180 (unwrap)
			if x < c.minX || x > c.maxX {
				continue
			}
			for _, r := range c.rings {
				if crosses(r, x, lat) {
					in = !in
				}
			}
			if in {
				break
			}
		}
		if in {
			code := c.code
			if code == "" {
				code = "?" + c.name // matches no place's code: the border alone names it
			}
			return code, c.name
		}
	}
	return "", ""
}

// crosses reports whether ring r (x, y pairs) is crossed an odd number of
// times by the ray from (x, y) towards +x.
func crosses(r []float64, x, y float64) bool {
	in := false
	n := len(r) / 2
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		xi, yi, xj, yj := r[2*i], r[2*i+1], r[2*j], r[2*j+1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// topology is the part of a TopoJSON file read here.
type topology struct {
	Transform *struct {
		Scale     [2]float64 `json:"scale"`
		Translate [2]float64 `json:"translate"`
	} `json:"transform"`
	Arcs    [][][2]float64 `json:"arcs"`
	Objects struct {
		Countries struct {
			Geometries []struct {
				Type       string          `json:"type"`
				ID         string          `json:"id"`
				Arcs       json.RawMessage `json:"arcs"`
				Properties struct {
					Name string `json:"name"`
				} `json:"properties"`
			} `json:"geometries"`
		} `json:"countries"`
	} `json:"objects"`
}

// decodeTopo reads world-atlas's countries TopoJSON into countries, each
// polygon's rings resolved from the shared, delta-encoded arcs.
func decodeTopo(b []byte) ([]country, error) {
	var t topology
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, err
	}
	arcs := make([][]float64, len(t.Arcs))
	for i, a := range t.Arcs {
		pts := make([]float64, 0, 2*len(a))
		var x, y float64
		for _, p := range a {
			if t.Transform != nil {
				x, y = x+p[0], y+p[1]
				pts = append(pts, x*t.Transform.Scale[0]+t.Transform.Translate[0], y*t.Transform.Scale[1]+t.Transform.Translate[1])
			} else {
				pts = append(pts, p[0], p[1])
			}
		}
		arcs[i] = pts
	}
	ring := func(ids []int) []float64 {
		var r []float64
		for _, id := range ids {
			if id >= 0 {
				r = append(r, arcs[id]...)
				continue
			}
			a := arcs[^id]
			for k := len(a) - 2; k >= 0; k -= 2 {
				r = append(r, a[k], a[k+1])
			}
		}
		return r
	}
	var out []country
	for _, g := range t.Objects.Countries.Geometries {
		var polys [][][]int
		switch g.Type {
		case "Polygon":
			var p [][]int
			if err := json.Unmarshal(g.Arcs, &p); err != nil {
				return nil, err
			}
			polys = [][][]int{p}
		case "MultiPolygon":
			if err := json.Unmarshal(g.Arcs, &polys); err != nil {
				return nil, err
			}
		default:
			continue
		}
		code := ""
		if r, err := language.ParseRegion(g.ID); err == nil && g.ID != "" {
			code = r.String()
		}
		c := country{code: code, name: countryName(code, g.Properties.Name), minX: 180, minY: 90, maxX: -180, maxY: -90}
		for _, p := range polys {
			for _, ids := range p {
				r := unwrap(ring(ids))
				for k := 0; k+1 < len(r); k += 2 {
					c.minX, c.maxX = min(c.minX, r[k]), max(c.maxX, r[k])
					c.minY, c.maxY = min(c.minY, r[k+1]), max(c.maxY, r[k+1])
				}
				c.rings = append(c.rings, r)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// unwrap makes a ring that crosses the antimeridian (Russia's Chukotka,
// Fiji: world-atlas keeps them whole) continuous, its longitudes running
// on past ±180 rather than jumping across the map, which would draw a line
// around the world and enclose a band of it. Rings around a pole
// (Antarctica's) are left as they are: their jump is the pole's edge.
func unwrap(r []float64) []float64 {
	for k := 1; k < len(r); k += 2 {
		if math.Abs(r[k]) > 89.9 {
			return r
		}
	}
	for k := 2; k+1 < len(r); k += 2 {
		for r[k]-r[k-2] > 180 {
			r[k] -= 360
		}
		for r[k]-r[k-2] < -180 {
			r[k] += 360
		}
	}
	return r
}

// shortNames replace CLDR's longer English names where one is in common use.
var shortNames = map[string]string{
	"HK": "Hong Kong", "MO": "Macao", "MM": "Myanmar", "PS": "Palestine",
	"CD": "DR Congo", "CG": "Congo", "FM": "Micronesia",
}

// countryName is the English name of ISO code cc, or fallback when CLDR
// has none.
func countryName(cc, fallback string) string {
	if n, ok := shortNames[cc]; ok {
		return n
	}
	if cc != "" {
		if r, err := language.ParseRegion(cc); err == nil {
			if n := display.English.Regions().Name(r); n != "" && n != "Unknown Region" {
				return n
			}
		}
	}
	if fallback == "" {
		return cc
	}
	return fallback
}

func fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}

// Outline is the world's country borders at 1:110m as GeoJSON (a
// FeatureCollection with each country's name): the map's background
// where no tiles load. Made once, about 250 kB.
var Outline = sync.OnceValues(func() ([]byte, error) {
	cs, err := decodeTopo(borders110m)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(`{"type":"FeatureCollection","features":[`)
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(c.name)
		b.WriteString(`{"type":"Feature","properties":{"name":` + string(name) + `},"geometry":{"type":"MultiPolygon","coordinates":[`)
		for k, r := range c.rings {
			if k > 0 {
				b.WriteByte(',')
			}
			b.WriteString("[[")
			for j := 0; j+1 < len(r); j += 2 {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString("[" + strconv.FormatFloat(r[j], 'f', 2, 64) + "," + strconv.FormatFloat(r[j+1], 'f', 2, 64) + "]")
			}
			b.WriteString("]]")
		}
		b.WriteString("]}}")
	}
	b.WriteString("]}")
	return []byte(b.String()), nil
})

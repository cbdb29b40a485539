// Package place names where a photo was taken — country, first-level
// region and city — from its GPS position, offline: the gazetteer and the
// country borders are open data embedded in the binary (data/, made by
// scripts/places-data.sh), loaded once into memory, and asked without any
// network service.
//
// The data: GeoNames' populated places of 1000 people or more plus every
// seat of an administrative division (about 157,000; CC BY 4.0,
// geonames.org), with their first-level division names; Natural Earth's
// country borders at 1:50m (public domain, naturalearthdata.com) as
// TopoJSON from the world-atlas package (ISC).
//
// The rules (Lookup): the nearest place within CityRadiusKm names the
// city, its region and its country; the border it lies in wins over a
// nearer place across a border when a place of that country is within
// the radius too. Far from every place (wilderness), the country it lies
// in and the region of the nearest place of that country within
// RegionRadiusKm. At sea, nothing, unless a place is within CoastKm (the
// 1:50m coastline is a few hundred metres off on beaches and in harbours).
package place

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Version names the data and rules: a photo placed by an older version is
// placed again (without reading its file) by the next scan of its library.
const Version = 1

// Distances of the rules, in kilometres.
const (
	CityRadiusKm   = 25
	RegionRadiusKm = 100
	CoastKm        = 12
)

// Place is where a photo was taken, in English (GeoNames' and CLDR's
// names); Region or City may be empty, Country never is for a place found.
type Place struct {
	Country string `json:"country"`
	Region  string `json:"region"`
	City    string `json:"city"`
}

//go:embed data/cities.tsv.gz
var citiesGz []byte

//go:embed data/countries-50m.json
var borders50m []byte

//go:embed data/countries-110m.json
var borders110m []byte

// Index answers Lookup from memory; it is safe for concurrent use.
type Index struct {
	names     string  // every place's name, one after the other
	cities    []city  // ordered by grid cell
	cellStart []int32 // cities of cell c: cities[cellStart[c]:cellStart[c+1]]
	regions   []string
	countries []country
	ccName    map[string]string // ISO code → English country name
}

type city struct {
	lat, lon float32
	name     uint32 // offset in names
	nameLen  uint16
	region   uint16 // index in regions
	cc       [2]byte
	pop      uint32
}

// reachKm is how far from its point a place of pop people is taken to
// extend: a point within it belongs to the largest such place rather
// than to a nearer quarter or suburb (Central Park is in New York City,
// not in Manhattan's point; the Opera House in Sydney, not The Rocks).
// 8.8 million people reach 12 km, 500,000 reach 2.8 km, 5,000 0.3 km.
func reachKm(pop uint32) float64 { return min(20, 0.004*math.Sqrt(float64(pop))) }

// The grid: 1° cells, row by latitude from -90, column by longitude from -180.
const (
	gridRows = 180
	gridCols = 360
)

func cellOf(lat, lon float64) int {
	r := int(math.Floor(lat + 90))
	c := int(math.Floor(lon + 180))
	r = min(max(r, 0), gridRows-1)
	c = ((c % gridCols) + gridCols) % gridCols
	return r*gridCols + c
}

// Default is the index of the embedded data, loaded on first use (about
// a quarter of a second) and kept for the life of the process.
var Default = sync.OnceValues(Load)

// Load reads the embedded data into a new Index.
func Load() (*Index, error) {
	ix := &Index{ccName: map[string]string{}}
	if err := ix.loadCities(); err != nil {
		return nil, fmt.Errorf("place: cities: %w", err)
	}
	cs, err := decodeTopo(borders50m)
	if err != nil {
		return nil, fmt.Errorf("place: borders: %w", err)
	}
	ix.countries = cs
	return ix, nil
}

func (ix *Index) loadCities() error {
	zr, err := gzip.NewReader(bytes.NewReader(citiesGz))
	if err != nil {
		return err
	}
	type row struct {
		c    city
		cell int
	}
	var (
		rows    []row
		names   strings.Builder
		regions = map[string]uint16{"": 0}
	)
	ix.regions = []string{""}
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 6 || len(f[3]) != 2 {
			return fmt.Errorf("bad line %q", sc.Text())
		}
		lat, err1 := strconv.ParseFloat(f[1], 64)
		lon, err2 := strconv.ParseFloat(f[2], 64)
		pop, err3 := strconv.ParseUint(f[5], 10, 32)
		if err1 != nil || err2 != nil || err3 != nil {
			return fmt.Errorf("bad position in %q", sc.Text())
		}
		reg, ok := regions[f[4]]
		if !ok {
			reg = uint16(len(ix.regions))
			regions[f[4]] = reg
			ix.regions = append(ix.regions, f[4])
		}
		c := city{lat: float32(lat), lon: float32(lon), name: uint32(names.Len()), nameLen: uint16(len(f[0])), region: reg, cc: [2]byte{f[3][0], f[3][1]}, pop: uint32(pop)}
		names.WriteString(f[0])
		rows = append(rows, row{c, cellOf(lat, lon)})
		if _, ok := ix.ccName[f[3]]; !ok {
			ix.ccName[f[3]] = countryName(f[3], "")
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].cell < rows[j].cell })
	ix.names = names.String()
	ix.cities = make([]city, len(rows))
	ix.cellStart = make([]int32, gridRows*gridCols+1)
	for i, r := range rows {
		ix.cities[i] = r.c
		ix.cellStart[r.cell+1]++
	}
	for c := 1; c < len(ix.cellStart); c++ {
		ix.cellStart[c] += ix.cellStart[c-1]
	}
	return nil
}

// Cities is how many places the index holds.
func (ix *Index) Cities() int { return len(ix.cities) }

// Lookup names the place at lat, lon (degrees, WGS 84); false where
// nothing is known (at sea, or not a position).
func (ix *Index) Lookup(lat, lon float64) (Place, bool) {
	if math.IsNaN(lat) || math.IsNaN(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return Place{}, false
	}
	cc, border := ix.countryAt(lat, lon)
	near, d := ix.nearest(lat, lon, CityRadiusKm, "")
	if near != nil && cc != "" && string(near.cc[:]) != cc {
		// Across a border: a place of this side wins when there is one.
		if same, _ := ix.nearest(lat, lon, CityRadiusKm, cc); same != nil {
			near = same
		}
	}
	switch {
	case near != nil && (cc != "" || d <= CoastKm):
		return ix.placeOf(near), true
	case cc != "":
		p := Place{Country: border}
		if reg, _ := ix.nearest(lat, lon, RegionRadiusKm, cc); reg != nil {
			p.Region = ix.regions[reg.region]
		}
		return p, true
	}
	return Place{}, false
}

func (ix *Index) placeOf(c *city) Place {
	return Place{Country: ix.ccName[string(c.cc[:])], Region: ix.regions[c.region],
		City: ix.names[c.name : c.name+uint32(c.nameLen)]}
}

// nearest is the place of lat, lon within maxKm (of country cc when cc
// is not ""), and its distance; nil when there is none: the most
// populous place whose reach holds the point, or else the nearest.
func (ix *Index) nearest(lat, lon, maxKm float64, cc string) (*city, float64) {
	dLat := maxKm / 111.0
	cos := math.Cos(lat * math.Pi / 180)
	dLon := 180.0
	if cos > 1e-6 {
		dLon = min(180, maxKm/(111.0*cos))
	}
	r0 := int(math.Floor(lat - dLat + 90))
	r1 := int(math.Floor(lat + dLat + 90))
	c0 := int(math.Floor(lon - dLon + 180))
	c1 := int(math.Floor(lon + dLon + 180))
	if c1-c0 >= gridCols {
		c0, c1 = 0, gridCols-1
	}
	var (
		best  *city
		bestD = maxKm
		big   *city // the most populous place whose reach holds the point
		bigD  float64
	)
	for r := max(r0, 0); r <= min(r1, gridRows-1); r++ {
		for c := c0; c <= c1; c++ {
			cell := r*gridCols + ((c%gridCols)+gridCols)%gridCols
			for i := ix.cellStart[cell]; i < ix.cellStart[cell+1]; i++ {
				p := &ix.cities[i]
				if cc != "" && (p.cc[0] != cc[0] || p.cc[1] != cc[1]) {
					continue
				}
				d := distanceKm(lat, lon, float64(p.lat), float64(p.lon))
				if d <= bestD {
					best, bestD = p, d
				}
				if d <= maxKm && d <= reachKm(p.pop) && (big == nil || p.pop > big.pop) {
					big, bigD = p, d
				}
			}
		}
	}
	if big != nil {
		return big, bigD
	}
	return best, bestD
}

// distanceKm is the great-circle distance (haversine).
func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * 6371 * math.Asin(math.Sqrt(min(1, a)))
}

// Fold is s lower-cased without its accents ("São Paulo" → "sao paulo"):
// what search compares place names by.
func Fold(s string) string { return fold(s) }

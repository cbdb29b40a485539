package place_test

import (
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"shoebox/internal/place"
)

func index(t testing.TB) *place.Index {
	t.Helper()
	ix, err := place.Default()
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestLookupKnownPlaces(t *testing.T) {
	ix := index(t)
	for _, c := range []struct {
		name     string
		lat, lon float64
		want     place.Place
	}{
		{"Lisbon, Praça do Comércio", 38.7075, -9.1364, place.Place{Country: "Portugal", Region: "Lisbon", City: "Lisbon"}},
		{"Paris, the Louvre", 48.8606, 2.3376, place.Place{Country: "France", Region: "Île-de-France", City: "Paris"}},
		{"Tokyo, the Imperial Palace", 35.6852, 139.7528, place.Place{Country: "Japan", Region: "Tokyo", City: "Tokyo"}},
		{"New York, Central Park", 40.7812, -73.9665, place.Place{Country: "United States", Region: "New York", City: "New York City"}},
		{"Sydney Opera House", -33.8568, 151.2153, place.Place{Country: "Australia", Region: "New South Wales", City: "Sydney"}},
	} {
		got, ok := ix.Lookup(c.lat, c.lon)
		if !ok || got != c.want {
			t.Errorf("%s: got %+v (%v), want %+v", c.name, got, ok, c.want)
		}
	}
}

func TestLookupSea(t *testing.T) {
	ix := index(t)
	for _, p := range [][2]float64{{40, -35}, {0, -140}, {-40, 80}} { // mid-Atlantic, Pacific, Indian Ocean
		if got, ok := ix.Lookup(p[0], p[1]); ok {
			t.Errorf("%v at sea: got %+v", p, got)
		}
	}
}

func TestLookupWilderness(t *testing.T) {
	ix := index(t)
	// The middle of the Sahara in Algeria and of Australia's outback: a
	// country, no town within 25 km.
	for _, c := range []struct {
		lat, lon float64
		country  string
	}{{24.0, 3.0, "Algeria"}, {-25.0, 131.0, "Australia"}} {
		got, ok := ix.Lookup(c.lat, c.lon)
		if !ok || got.Country != c.country || got.City != "" {
			t.Errorf("%v: got %+v (%v), want the country %s and no city", c, got, ok, c.country)
		}
	}
}

func TestLookupBorder(t *testing.T) {
	ix := index(t)
	// Strasbourg (France) is nearer Kehl (Germany) than some French towns:
	// a point in Kehl's old town is German, one in Strasbourg's French.
	if got, _ := ix.Lookup(48.5734, 7.7521); got.Country != "France" {
		t.Errorf("Strasbourg: %+v", got)
	}
	if got, _ := ix.Lookup(48.5770, 7.8150); got.Country != "Germany" {
		t.Errorf("Kehl: %+v", got)
	}
}

func TestLookupOutOfRange(t *testing.T) {
	ix := index(t)
	for _, p := range [][2]float64{{91, 0}, {0, 181}, {-91, -200}} {
		if _, ok := ix.Lookup(p[0], p[1]); ok {
			t.Errorf("%v: found a place", p)
		}
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{"São Paulo": "sao paulo", "Île-de-France": "ile-de-france", "Zürich": "zurich", "Tokyo": "tokyo"} {
		if got := place.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOutline(t *testing.T) {
	b, err := place.Outline()
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Properties struct{ Name string } `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range fc.Features {
		names[f.Properties.Name] = true
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) < 150 || !names["Portugal"] || !names["Japan"] {
		t.Fatalf("outline: %s with %d features", fc.Type, len(fc.Features))
	}
	t.Logf("outline: %d countries, %d bytes", len(fc.Features), len(b))
}

// TestMeasure logs what the index costs: load time, heap, time per lookup.
func TestMeasure(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	ix, err := place.Load()
	if err != nil {
		t.Fatal(err)
	}
	load := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	const n = 20000
	start = time.Now()
	for i := range n {
		ix.Lookup(-60+float64(i%120), -180+float64(i*7%360)+0.5)
	}
	per := time.Since(start) / n
	start = time.Now()
	for i := range n { // western Europe, where places are densest
		ix.Lookup(40+float64(i%150)/10, -5+float64(i*7%250)/10)
	}
	perEurope := time.Since(start) / n
	t.Logf("%d places; load %v; heap %.1f MiB; %v a lookup spread over the globe, %v in western Europe", ix.Cities(), load.Round(time.Millisecond),
		float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), per, perEurope)
	runtime.KeepAlive(ix)
}

// Russia's Chukotka and Fiji cross the antimeridian: their borders must
// hold their land and nothing beside it (a ring jumping across the map
// once enclosed a band of the world around 65–69°N).
func TestLookupAntimeridian(t *testing.T) {
	ix := index(t)
	for _, c := range []struct {
		lat, lon float64
		country  string
	}{{66, -175, "Russia"}, {66.5, -160, "United States"}, {65.5, -169, ""}, {-16.8, -179.9, "Fiji"}, {67, -40, "Greenland"}, {67.5, -100, "Canada"}} {
		got, _ := ix.Lookup(c.lat, c.lon)
		if got.Country != c.country {
			t.Errorf("%v: %+v, want %q", c, got, c.country)
		}
	}
}

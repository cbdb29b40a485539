package web

import (
	"reflect"
	"testing"
)

// The by-year chart is drawn in year order with each bar scaled to the
// busiest year, whatever order the map gives.
func TestYearBarsScaleToTheBusiestYear(t *testing.T) {
	got := yearBars(map[string]int{"2021": 1, "2019": 7, "2020": 14})
	want := []yearBar{
		{Year: "2019", Photos: 7, Width: "50.00%"},
		{Year: "2020", Photos: 14, Width: "100.00%"},
		{Year: "2021", Photos: 1, Width: "7.14%"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("yearBars = %+v, want %+v", got, want)
	}
	if bars := yearBars(map[string]int{}); len(bars) != 0 {
		t.Fatalf("no years: %+v", bars)
	}
}

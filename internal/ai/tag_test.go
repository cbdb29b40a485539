package ai

import (
	"reflect"
	"testing"
)

// The best labels come first, weak ones are dropped, at most three kept.
func TestTopLabels(t *testing.T) {
	// Four labels clear the threshold for {1, 0}: the cap keeps three.
	names := []string{"dog", "cat", "car", "tree", "boat", "ship"}
	vecs := [][]float32{{1, 0}, {0.99, 0.14}, {0, 1}, {-1, 0}, {0.985, 0.17}, {0.984, 0.18}}
	got := TopLabels([]float32{1, 0}, names, vecs)
	if len(got) != 3 || got[0].Label != "dog" || got[1].Label != "cat" || got[2].Label != "boat" {
		t.Fatalf("TopLabels = %+v, want dog, cat, boat", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Score > got[i-1].Score || got[i].Score < tagThreshold {
			t.Fatalf("scores %+v: not best first above the threshold", got)
		}
	}
	if got := TopLabels([]float32{0, 1}, names, vecs); len(got) != 1 || got[0].Label != "car" {
		t.Fatalf("a clear match: %+v, want car alone", got)
	}
}

// Pairs join transitively; groups are sorted and in order of their first id.
func TestGroupDuplicates(t *testing.T) {
	got := GroupDuplicates([][2]string{{"c", "d"}, {"a", "b"}, {"e", "d"}, {"x", "y"}})
	want := [][]string{{"a", "b"}, {"c", "d", "e"}, {"x", "y"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("groups %v, want %v", got, want)
	}
	if got := GroupDuplicates(nil); len(got) != 0 {
		t.Fatalf("no pairs: %v", got)
	}
}

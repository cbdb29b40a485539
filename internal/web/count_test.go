package web_test

import (
	"fmt"
	"strings"
	"testing"
)

// The line above search results agrees with its count: "1 photo
// matching", "2 photos matching", never "1 photos".
func TestSearchResultLineSingularAndPlural(t *testing.T) {
	s := newSite(t, 4, 4, func(i int) string {
		if i < 2 {
			return fmt.Sprintf("beach/sand_%d.jpg", i)
		}
		return plainName(i)
	})
	for q, want := range map[string]string{
		"sand_0": "1 photo matching “sand_0”",
		"beach":  "2 photos matching “beach”",
	} {
		resp, body := get(t, s.srv.URL+"/search?q="+q)
		if resp.StatusCode != 200 {
			t.Fatalf("search %q: %d", q, resp.StatusCode)
		}
		if !strings.Contains(body, want) {
			i := strings.Index(body, " matching")
			t.Errorf("search %q: want %q, page says %q", q, want, body[max(i-30, 0):max(i+30, 0)])
		}
	}
}

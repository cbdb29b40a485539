package ai

import (
	"strings"
	"testing"
)

func TestLabelsCount(t *testing.T) {
	if n := len(Labels); n < 900 || n > 1200 {
		t.Fatalf("len(Labels) = %d, want 900..1200", n)
	}
}

func TestLabelsNames(t *testing.T) {
	seen := make(map[string]int, len(Labels))
	for i, l := range Labels {
		name := l.Name
		switch {
		case name == "":
			t.Errorf("Labels[%d]: empty name", i)
			continue
		case name != strings.TrimSpace(name):
			t.Errorf("Labels[%d] %q: leading or trailing space", i, name)
		case name != strings.ToLower(name):
			t.Errorf("Labels[%d] %q: not lower-case", i, name)
		case strings.Contains(name, "  "):
			t.Errorf("Labels[%d] %q: double space", i, name)
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r == ' ' || r == '-' || r == '\'') {
				t.Errorf("Labels[%d] %q: character %q not allowed", i, name, r)
				break
			}
		}
		if first, last := name[0], name[len(name)-1]; first < 'a' || first > 'z' || last < 'a' || last > 'z' {
			t.Errorf("Labels[%d] %q: must start and end with a letter", i, name)
		}
		if j, dup := seen[name]; dup {
			t.Errorf("Labels[%d] %q: duplicate of Labels[%d]", i, name, j)
		}
		seen[name] = i
	}
}

func TestLabelsCategories(t *testing.T) {
	allowed := map[string]bool{
		"object": true, "scene": true, "animal": true, "food": true,
		"event": true, "people": true, "document": true,
	}
	if len(LabelCategories) != len(allowed) {
		t.Errorf("LabelCategories = %q, want the %d allowed categories", LabelCategories, len(allowed))
	}
	for _, c := range LabelCategories {
		if !allowed[c] {
			t.Errorf("LabelCategories has %q, not an allowed category", c)
		}
	}
	count := map[string]int{}
	for i, l := range Labels {
		if !allowed[l.Category] {
			t.Errorf("Labels[%d] %q: category %q not allowed", i, l.Name, l.Category)
		}
		count[l.Category]++
	}
	for c := range allowed {
		if count[c] == 0 {
			t.Errorf("category %q has no labels", c)
		}
	}
	t.Logf("labels per category: %v (total %d)", count, len(Labels))
}

// TestLabelsGrouped checks that Labels lists each category in one run, in the
// order of LabelCategories.
func TestLabelsGrouped(t *testing.T) {
	k := 0
	for i, l := range Labels {
		for k < len(LabelCategories) && LabelCategories[k] != l.Category {
			k++
		}
		if k == len(LabelCategories) {
			t.Fatalf("Labels[%d] %q (%s) is out of category order %q", i, l.Name, l.Category, LabelCategories)
		}
	}
}

func TestLabelPrompt(t *testing.T) {
	for _, tc := range []struct {
		label Label
		want  string
	}{
		{Label{Name: "beach", Category: CategoryScene}, "a photo of a beach"},
		{Label{Name: "apple", Category: CategoryFood}, "a photo of an apple"},
		{Label{Name: "fireworks", Category: CategoryEvent, Mass: true}, "a photo of fireworks"},
		{Label{Name: "snow", Category: CategoryScene, Mass: true}, "a photo of snow"},
		{Label{Name: "hot air balloon", Category: CategoryObject}, "a photo of a hot air balloon"},
		{Label{Name: "owl", Category: CategoryAnimal}, "a photo of an owl"},
		{Label{Name: "umbrella", Category: CategoryObject}, "a photo of an umbrella"},
		{Label{Name: "underwater scene", Category: CategoryScene}, "a photo of an underwater scene"},
		{Label{Name: "ukulele", Category: CategoryObject}, "a photo of a ukulele"},
		{Label{Name: "uniform", Category: CategoryObject}, "a photo of a uniform"},
		{Label{Name: "hour", Category: CategoryObject}, "a photo of an hour"},
		{Label{Name: "horse", Category: CategoryAnimal}, "a photo of a horse"},
		{Label{Name: "wedding", Category: CategoryEvent}, "a photo of a wedding"},
	} {
		if got := tc.label.Prompt(); got != tc.want {
			t.Errorf("Label{%q, Mass: %v}.Prompt() = %q, want %q", tc.label.Name, tc.label.Mass, got, tc.want)
		}
	}
}

// TestLabelsPrompts checks the prompts of the vocabulary itself: the
// examples above must be real entries with the expected Mass flag, and every
// prompt must be well formed.
func TestLabelsPrompts(t *testing.T) {
	byName := make(map[string]Label, len(Labels))
	for _, l := range Labels {
		byName[l.Name] = l
	}
	for name, want := range map[string]string{
		"beach":      "a photo of a beach",
		"apple":      "a photo of an apple",
		"fireworks":  "a photo of fireworks",
		"snow":       "a photo of snow",
		"pasta":      "a photo of pasta",
		"wedding":    "a photo of a wedding",
		"ukulele":    "a photo of a ukulele",
		"umbrella":   "a photo of an umbrella",
		"screenshot": "a photo of a screenshot",
		"baby":       "a photo of a baby",
		"hiking":     "a photo of hiking",
	} {
		l, ok := byName[name]
		if !ok {
			t.Errorf("%q is not in Labels", name)
			continue
		}
		if got := l.Prompt(); got != want {
			t.Errorf("Labels %q: Prompt() = %q, want %q", name, got, want)
		}
	}
	for _, l := range Labels {
		p := l.Prompt()
		if !strings.HasPrefix(p, "a photo of ") || !strings.HasSuffix(p, " "+l.Name) || strings.Contains(p, "  ") {
			t.Errorf("Labels %q: malformed prompt %q", l.Name, p)
		}
	}
}

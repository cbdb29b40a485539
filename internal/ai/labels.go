package ai

import (
	_ "embed"
	"fmt"
	"strings"
)

// Label categories: every Label has exactly one of these.
const (
	CategoryObject   = "object"   // things: household, vehicles, electronics, tools, clothing, gear, instruments, furniture, plants
	CategoryScene    = "scene"    // places, landscapes, rooms and weather
	CategoryAnimal   = "animal"   // pets, farm and wild animals, birds, insects, sea life
	CategoryFood     = "food"     // dishes, fruit, vegetables, desserts and drinks
	CategoryEvent    = "event"    // occasions, holidays, sports events and activities
	CategoryPeople   = "people"   // kinds of photos of people, never who they are or what they are like
	CategoryDocument = "document" // photo types: screenshots, paperwork, artwork
)

// LabelCategories lists the categories in the order Labels groups them.
var LabelCategories = []string{
	CategoryObject,
	CategoryScene,
	CategoryAnimal,
	CategoryFood,
	CategoryEvent,
	CategoryPeople,
	CategoryDocument,
}

// Label is one tag the tagger can give.
type Label struct {
	// Name is the tag as shown and searched: lower-case, spaces allowed
	// ("hot air balloon").
	Name string
	// Category is one of the Category* constants.
	Category string
	// Mass marks names that take no article in a prompt: plurals and mass
	// nouns ("fireworks", "snow", "pasta", "hiking").
	Mass bool
}

// Prompt is the text embedded for zero-shot tagging: "a photo of a beach",
// "a photo of an apple", or for a Mass name "a photo of fireworks".
func (l Label) Prompt() string {
	if l.Mass {
		return "a photo of " + l.Name
	}
	return "a photo of " + indefiniteArticle(l.Name) + " " + l.Name
}

// Beginnings whose sound goes against the spelling: a vowel letter read as a
// consonant ("a ukulele", "a uniform") or a silent h ("an hour").
var (
	articleAPrefixes  = []string{"uni", "uku", "use", "usu", "ute", "eu", "one", "ewe"}
	articleAnPrefixes = []string{"hour", "honest", "honor", "heir"}
)

// indefiniteArticle returns "a" or "an" for the English word starting s.
func indefiniteArticle(s string) string {
	for _, p := range articleAPrefixes {
		if strings.HasPrefix(s, p) {
			return "a"
		}
	}
	for _, p := range articleAnPrefixes {
		if strings.HasPrefix(s, p) {
			return "an"
		}
	}
	if s != "" && strings.IndexByte("aeiou", s[0]) >= 0 {
		return "an"
	}
	return "a"
}

// labelsText is the built-in vocabulary, one label a line (see the file's
// header): data, kept out of the code.
//
//go:embed labels.txt
var labelsText string

// Labels is the built-in vocabulary for automatic tagging (about 1,000
// entries), in the file's order: grouped by category, then by theme.
var Labels = mustParseLabels(labelsText)

// mustParseLabels reads labels.txt; it is built in, so a malformed line is
// a bug caught by every test run, not an input error.
func mustParseLabels(text string) []Label {
	known := map[string]bool{}
	for _, c := range LabelCategories {
		known[c] = true
	}
	var out []Label
	for i, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 || len(f) > 3 || !known[f[0]] || (len(f) == 3 && f[2] != "mass") {
			panic(fmt.Sprintf("ai: labels.txt line %d: %q is not category<TAB>name[<TAB>mass]", i+1, line))
		}
		out = append(out, Label{Category: f[0], Name: f[1], Mass: len(f) == 3})
	}
	return out
}

package ai

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The tests use OpenAI's real vocabulary, the repository's copy in
// clipvocab/. Its absence is a failure, not a skip: these ids are what the
// text model was trained on.
func clipVocabPath(t testing.TB) string {
	t.Helper()
	p := filepath.Join("clipvocab", "bpe_simple_vocab_16e6.txt.gz")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("CLIP BPE vocabulary: %v", err)
	}
	return p
}

var (
	realTokOnce sync.Once
	realTok     *Tokenizer
	realTokErr  error
)

// realCLIPTokenizer is NewTokenizerFromBPE on the real vocabulary with
// context length 77, built once per test binary.
func realCLIPTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	p := clipVocabPath(t)
	realTokOnce.Do(func() { realTok, realTokErr = NewTokenizerFromBPE(p, 77) })
	if realTokErr != nil {
		t.Fatalf("NewTokenizerFromBPE(%s): %v", p, realTokErr)
	}
	return realTok
}

// padded is SOT + ids + EOT, padded with EOT to 77.
func padded(ids ...int32) []int32 {
	out := append([]int32{49406}, ids...)
	out = append(out, 49407)
	for len(out) < 77 {
		out = append(out, 49407)
	}
	return out
}

func TestTokenizerVocabulary(t *testing.T) {
	tok := realCLIPTokenizer(t)
	if got := tok.VocabSize(); got != 49408 {
		t.Errorf("VocabSize = %d, want 49408", got)
	}
	if tok.StartID() != 49406 || tok.EndID() != 49407 || tok.PadID() != 49407 {
		t.Errorf("special ids = %d %d %d, want 49406 49407 49407", tok.StartID(), tok.EndID(), tok.PadID())
	}
	if tok.ContextLength() != 77 {
		t.Errorf("ContextLength = %d", tok.ContextLength())
	}
	// Spot checks of the vocabulary's construction order: byte symbols, the
	// same with </w>, merges.
	for tokStr, id := range map[string]int32{"!": 0, "a": 64, "a</w>": 320, "cat</w>": 2368, "Ġ": 220, "Ġ</w>": 476} {
		if got, ok := tok.encoder[tokStr]; !ok || got != id {
			t.Errorf("vocab[%q] = %d, %v; want %d", tokStr, got, ok, id)
		}
	}
	if len(tok.merges) != 48894 {
		t.Errorf("%d merges, want 48894", len(tok.merges))
	}
}

func TestTokenizerBytesToUnicode(t *testing.T) {
	seen := map[string]bool{}
	for b := 0; b < 256; b++ {
		s := byteEncoder[b]
		r, n := utf8.DecodeRuneInString(s)
		if n != len(s) {
			t.Fatalf("byte %d encodes to %q, not one rune", b, s)
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			t.Errorf("byte %d encodes to space/control %U", b, r)
		}
		if seen[s] {
			t.Errorf("byte %d: %q used twice", b, s)
		}
		seen[s] = true
		if byteDecoder[r] != byte(b) {
			t.Errorf("byte %d does not round-trip", b)
		}
	}
	// GPT-2/CLIP's well-known values.
	for b, want := range map[byte]rune{'!': '!', 'a': 'a', ' ': 'Ġ', 0: 'Ā', '\n': 'Ċ', 0xA9: '©', 0xAD: 'Ń'} {
		if got := byteEncoder[b]; got != string(want) {
			t.Errorf("byteEncoder[%#x] = %q, want %q", b, got, want)
		}
	}
}

// Expected ids come from OpenAI's simple_tokenizer.py run on the same
// vocabulary (with ftfy reduced to the subset fixText implements; none of
// these strings needs more).
func TestTokenizerKnownIDs(t *testing.T) {
	tok := realCLIPTokenizer(t)
	cases := []struct {
		text string
		ids  []int32
	}{
		{"a photo of a cat", []int32{320, 1125, 539, 320, 2368}},
		{"Hello World!", []int32{3306, 1002, 256}},
		{"dog on a beach", []int32{1929, 525, 320, 2117}},
		{"  DOG   On a  BEACH  ", []int32{1929, 525, 320, 2117}},
		{"\tDog\non a\u00a0beach\u3000", []int32{1929, 525, 320, 2117}},
		{"&amp;", []int32{261}},
		{"&amp;amp;", []int32{261}}, // html.unescape twice
		{"&lt;3 &quot;hi&quot;", []int32{283, 274, 257, 1883, 257}},
		{"", nil},
		{"café", []int32{15304}},
		{"cafe\u0301", []int32{15304}}, // NFC
		{"🐶 dog", []int32{10631, 1929}},
		{"don't", []int32{847, 713}},
		{"don’t", []int32{847, 713}}, // curly apostrophe uncurled
		{"I'M HERE, YOU'RE", []int32{328, 880, 763, 267, 592, 982}},
		{"ΟΔΟΣ", []int32{138, 123, 138, 112, 138, 123, 139, 480}}, // final sigma ς
		{"İ", []int32{328, 16384}},                                // Python lowers İ to i + U+0307
		{"text <|endoftext|> more", []int32{4160, 49407, 750}},
		{"ﬁsh", []int32{2759}}, // ligature
		{"ＤＯＧ", []int32{1929}}, // full width
		{"&#28;x", []int32{343}},
		{"1,000,000", []int32{272, 267, 271, 271, 271, 267, 271, 271, 271}},
		{"supercalifragilisticexpialidocious", []int32{1642, 2857, 13093, 2076, 5868, 26850, 835, 639, 38466}},
		{"New York City at night", []int32{686, 2705, 1305, 536, 930}},
		{"2 dogs & 3 cats", []int32{273, 3255, 261, 274, 3989}},
		{"Привет мир", []int32{26302, 16370, 29503, 110, 22176, 141, 480, 38018, 16701, 141, 478}},
		{"東京タワー", []int32{48338, 21078, 105, 34941, 2429, 107, 30391}},
		// Where Go's regexp and Python's regex module differ unless handled:
		{"it'ſ", []int32{585, 6, 129, 379}}, // 'ſ matches the 's contraction case-insensitively
		{"a\u0345b", []int32{320, 321}},     // U+0345 matches no alternative and is dropped
	}
	for _, c := range cases {
		got := tok.Encode(c.text)
		if want := padded(c.ids...); !slices.Equal(got, want) {
			t.Errorf("Encode(%q)\n got %v\nwant %v", c.text, got, want)
		}
		if got := tok.Tokenize(c.text); !slices.Equal(got, c.ids) && !(len(got) == 0 && len(c.ids) == 0) {
			t.Errorf("Tokenize(%q) = %v, want %v", c.text, got, c.ids)
		}
	}
}

func TestTokenizerPhotoOfACatFull(t *testing.T) {
	tok := realCLIPTokenizer(t)
	want := []int32{49406, 320, 1125, 539, 320, 2368, 49407}
	for len(want) < 77 {
		want = append(want, 49407)
	}
	if got := tok.Encode("a photo of a cat"); !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func TestTokenizerEmpty(t *testing.T) {
	tok := realCLIPTokenizer(t)
	for _, s := range []string{"", "   ", "\n\t", "\x00\x01"} {
		got := tok.Encode(s)
		if len(got) != 77 || got[0] != 49406 || got[1] != 49407 {
			t.Errorf("Encode(%q) = %v", s, got[:4])
		}
		for i, id := range got[2:] {
			if id != tok.PadID() {
				t.Fatalf("Encode(%q)[%d] = %d, want pad", s, i+2, id)
			}
		}
	}
}

func TestTokenizerTruncation(t *testing.T) {
	tok := realCLIPTokenizer(t)
	long := strings.Repeat("a photo of a happy dog running on the beach at sunset, ", 20)
	all := tok.Tokenize(long)
	if len(all) < 200 {
		t.Fatalf("only %d tokens", len(all))
	}
	got := tok.Encode(long)
	if len(got) != 77 || got[0] != 49406 || got[76] != 49407 {
		t.Fatalf("len %d, first %d, last %d", len(got), got[0], got[76])
	}
	if !slices.Equal(got[1:76], all[:75]) {
		t.Errorf("middle is not the first 75 tokens")
	}

	// Exactly 75 tokens fit; 76 do not.
	words75 := strings.TrimSpace(strings.Repeat("dog ", 75))
	if got := tok.Encode(words75); got[75] != 1929 || got[76] != 49407 {
		t.Errorf("75 tokens: tail %v", got[74:])
	}
	words76 := words75 + " cat"
	if got := tok.Encode(words76); got[75] != 1929 || got[76] != 49407 {
		t.Errorf("76 tokens: tail %v", got[74:])
	}

	// Truncation inside a multi-token word, with another context length.
	short, err := NewTokenizerFromBPE(clipVocabPath(t), 5)
	if err != nil {
		t.Fatal(err)
	}
	if got := short.Encode("supercalifragilisticexpialidocious"); !slices.Equal(got, []int32{49406, 1642, 2857, 13093, 49407}) {
		t.Errorf("context 5: %v", got)
	}
	if got := short.Encode("cat"); !slices.Equal(got, []int32{49406, 2368, 49407, 49407, 49407}) {
		t.Errorf("context 5 short text: %v", got)
	}
}

func TestTokenizerNonASCII(t *testing.T) {
	tok := realCLIPTokenizer(t)
	texts := []string{
		"café au lait", "🐶 dog", "👨‍👩‍👧‍👦 family", "🇩🇪 flag", "東京タワー", "Привет мир", "مرحبا", "नमस्ते",
		"\u0345x", "a\u200bb", "\xff\xfe invalid utf8", "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀",
	}
	squash := func(s string) string { return strings.ReplaceAll(s, " ", "") }
	for _, s := range texts {
		ids := tok.Encode(s)
		if len(ids) != 77 || ids[0] != 49406 {
			t.Errorf("Encode(%q): bad shape", s)
		}
		if !utf8.ValidString(s) {
			continue
		}
		// Every byte of the cleaned text comes back through the byte
		// decoder (U+0345 is dropped by the pattern, like in Python).
		dec := tok.Decode(tok.Tokenize(s))
		want := strings.ReplaceAll(CleanText(s), "\u0345", "")
		if squash(dec) != squash(want) {
			t.Errorf("Decode(Tokenize(%q)) = %q, want %q (ignoring spaces)", s, dec, want)
		}
	}
	if got := tok.Decode(tok.Tokenize("Hello World!")); got != "hello world ! " {
		t.Errorf("Decode = %q", got)
	}
}

func TestTokenizerCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"  A  b\n\nC ":        "a b c",
		"&amp;amp;":           "&",
		"<b>&amp;amp;</b>":    "<b>&</b>", // ftfy leaves entities alone next to '<'; html.unescape twice still runs
		"\x1c x \x1f":         "x",
		"ΟΔΟΣ ΣΑΣ.":           "οδος σας.",
		"İ":                   "i\u0307",
		"“quoted” ‘single’":   "\"quoted\" 'single'",
		"ﬃ":                   "ffi",
		"Ｈｅｌｌｏ　ｗｏｒｌｄ":         "hello world",
		"\ufeffbom\u200ftext": "bom\u200ftext",
		"&#150;":              "–", // Windows-1252 remap, as html.unescape
		"&#x110000;":          "\ufffd",
		"&notit;":             "¬it;",
		"&amp":                "&",
	} {
		if got := CleanText(in); got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTokenizerWriteFolderRoundTrip(t *testing.T) {
	orig := realCLIPTokenizer(t)
	dir := filepath.Join(t.TempDir(), "textual")
	if err := orig.WriteFolder(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("WriteFolder did not write %s", name)
		}
	}
	merges, _ := os.ReadFile(filepath.Join(dir, "merges.txt"))
	if !strings.HasPrefix(string(merges), "#version: 0.2\ni n\nt h\n") {
		t.Errorf("merges.txt starts %q", string(merges[:min(40, len(merges))]))
	}
	var tc map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if err := json.Unmarshal(b, &tc); err != nil || tc["pad_token"] != "<|endoftext|>" || tc["model_max_length"] != 77.0 {
		t.Errorf("tokenizer_config.json = %s (%v)", b, err)
	}
	var vocab map[string]int
	b, _ = os.ReadFile(filepath.Join(dir, "vocab.json"))
	if err := json.Unmarshal(b, &vocab); err != nil || len(vocab) != 49408 || vocab["<|startoftext|>"] != 49406 {
		t.Errorf("vocab.json: %d entries, err %v", len(vocab), err)
	}
	var tj struct {
		Model struct {
			Type   string         `json:"type"`
			Vocab  map[string]int `json:"vocab"`
			Merges []string       `json:"merges"`
		} `json:"model"`
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
	}
	b, _ = os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err := json.Unmarshal(b, &tj); err != nil {
		t.Fatalf("tokenizer.json: %v", err)
	}
	if tj.Model.Type != "BPE" || len(tj.Model.Vocab) != 49408 || len(tj.Model.Merges) != 48894 || len(tj.AddedTokens) != 2 {
		t.Errorf("tokenizer.json: type %q, %d vocab, %d merges, %d added", tj.Model.Type, len(tj.Model.Vocab), len(tj.Model.Merges), len(tj.AddedTokens))
	}

	loaded, err := LoadTokenizer(dir)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.VocabSize() != orig.VocabSize() || loaded.ContextLength() != 77 || loaded.PadID() != 49407 ||
		loaded.StartID() != 49406 || loaded.EndID() != 49407 {
		t.Fatalf("loaded tokenizer differs: vocab %d ctx %d pad %d", loaded.VocabSize(), loaded.ContextLength(), loaded.PadID())
	}
	texts := []string{"a photo of a cat", "Hello World!", "", "café 🐶", "supercalifragilisticexpialidocious",
		strings.Repeat("sunset over the mountains ", 30), "ΟΔΟΣ İ ﬁ ＤＯＧ don’t &amp;"}
	for _, s := range texts {
		if a, b := orig.Encode(s), loaded.Encode(s); !slices.Equal(a, b) {
			t.Errorf("%q: NewTokenizerFromBPE %v, LoadTokenizer %v", s, a, b)
		}
	}

	// Without vocab.json and merges.txt, tokenizer.json is read instead.
	os.Remove(filepath.Join(dir, "vocab.json"))
	os.Remove(filepath.Join(dir, "merges.txt"))
	fromTJ, err := LoadTokenizer(dir)
	if err != nil {
		t.Fatalf("LoadTokenizer from tokenizer.json: %v", err)
	}
	for _, s := range texts {
		if a, b := orig.Encode(s), fromTJ.Encode(s); !slices.Equal(a, b) {
			t.Errorf("%q via tokenizer.json: %v, want %v", s, b, a)
		}
	}
}

func writeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTokenizerPadToken(t *testing.T) {
	orig := realCLIPTokenizer(t)
	dir := t.TempDir()
	if err := orig.WriteFolder(dir); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "tokenizer_config.json")
	for _, pad := range []any{"!", map[string]any{"content": "!", "special": true}} {
		writeJSONFile(t, cfgPath, map[string]any{"pad_token": pad, "model_max_length": 77})
		tok, err := LoadTokenizer(dir)
		if err != nil {
			t.Fatal(err)
		}
		if tok.PadID() != 0 {
			t.Fatalf("pad %v: PadID %d, want 0", pad, tok.PadID())
		}
		want := append([]int32{49406, 320, 1125, 539, 320, 2368, 49407}, make([]int32, 70)...)
		if got := tok.Encode("a photo of a cat"); !slices.Equal(got, want) {
			t.Errorf("pad %v: %v", pad, got)
		}
		// WriteFolder keeps the pad token.
		d2 := t.TempDir()
		if err := tok.WriteFolder(d2); err != nil {
			t.Fatal(err)
		}
		if tok2, err := LoadTokenizer(d2); err != nil || tok2.PadID() != 0 {
			t.Errorf("rewritten folder: %v", err)
		}
	}

	// No pad_token in tokenizer_config.json: special_tokens_map.json, else <|endoftext|>.
	writeJSONFile(t, cfgPath, map[string]any{"model_max_length": 77})
	writeJSONFile(t, filepath.Join(dir, "special_tokens_map.json"), map[string]any{"pad_token": "!"})
	if tok, err := LoadTokenizer(dir); err != nil || tok.PadID() != 0 {
		t.Errorf("pad from special_tokens_map.json: %v", err)
	}
	os.Remove(filepath.Join(dir, "special_tokens_map.json"))
	if tok, err := LoadTokenizer(dir); err != nil || tok.PadID() != 49407 {
		t.Errorf("default pad: %v", err)
	}

	// A pad token outside the vocabulary is an error.
	writeJSONFile(t, cfgPath, map[string]any{"pad_token": "<pad>", "model_max_length": 77})
	if _, err := LoadTokenizer(dir); err == nil || !strings.Contains(err.Error(), "<pad>") {
		t.Errorf("unknown pad token: err = %v", err)
	}
}

func TestLoadTokenizerContextLength(t *testing.T) {
	orig := realCLIPTokenizer(t)
	model := t.TempDir()
	dir := filepath.Join(model, "textual")
	if err := orig.WriteFolder(dir); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "tokenizer_config.json")
	// Some exports write model_max_length 1e30: config.json decides.
	writeJSONFile(t, cfgPath, map[string]any{"pad_token": "<|endoftext|>", "model_max_length": 1e30})
	if _, err := LoadTokenizer(dir); err == nil || !strings.Contains(err.Error(), "context_length") {
		t.Errorf("no usable context length: err = %v", err)
	}
	writeJSONFile(t, filepath.Join(model, "config.json"), map[string]any{"text_cfg": map[string]any{"context_length": 64}})
	tok, err := LoadTokenizer(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.ContextLength() != 64 || len(tok.Encode("x")) != 64 {
		t.Errorf("ContextLength = %d, want 64", tok.ContextLength())
	}
}

func TestLoadTokenizerErrors(t *testing.T) {
	orig := realCLIPTokenizer(t)

	if _, err := LoadTokenizer(filepath.Join(t.TempDir(), "nope")); err == nil || !strings.Contains(err.Error(), "tokenizer_config.json") {
		t.Errorf("missing folder: err = %v", err)
	}

	dir := t.TempDir()
	if err := orig.WriteFolder(dir); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "vocab.json"))
	os.Remove(filepath.Join(dir, "tokenizer.json"))
	if _, err := LoadTokenizer(dir); err == nil || !strings.Contains(err.Error(), "vocab.json") {
		t.Errorf("missing vocab.json: err = %v", err)
	}

	dir = t.TempDir()
	orig.WriteFolder(dir)
	os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\ni n\nbad line here\n"), 0o644)
	if _, err := LoadTokenizer(dir); err == nil || !strings.Contains(err.Error(), "merges.txt") {
		t.Errorf("bad merges.txt: err = %v", err)
	}

	dir = t.TempDir()
	orig.WriteFolder(dir)
	os.WriteFile(filepath.Join(dir, "vocab.json"), []byte(`{"a": 0, "<|startoftext|>": 1, "<|endoftext|>": 2}`), 0o644)
	if _, err := LoadTokenizer(dir); err == nil || !strings.Contains(err.Error(), "byte symbol") {
		t.Errorf("incomplete vocab: err = %v", err)
	}

	// A SentencePiece (multilingual) tokenizer.json is refused clearly.
	dir = t.TempDir()
	writeJSONFile(t, filepath.Join(dir, "tokenizer_config.json"), map[string]any{"pad_token": "<pad>", "model_max_length": 77})
	writeJSONFile(t, filepath.Join(dir, "tokenizer.json"), map[string]any{"model": map[string]any{"type": "Unigram"}})
	if _, err := LoadTokenizer(dir); err == nil || !strings.Contains(err.Error(), "Unigram") {
		t.Errorf("Unigram tokenizer: err = %v", err)
	}

	if _, err := NewTokenizerFromBPE(filepath.Join(t.TempDir(), "missing.gz"), 77); err == nil {
		t.Error("NewTokenizerFromBPE on a missing file: no error")
	}
	if _, err := NewTokenizerFromBPE(clipVocabPath(t), 1); err == nil {
		t.Error("context length 1: no error")
	}
}

func TestTokenizerConcurrent(t *testing.T) {
	tok := realCLIPTokenizer(t)
	texts := []string{"a photo of a cat", "dog on a beach", "sunset", "Hello World!", "東京タワー", "birthday cake with candles"}
	want := make([][]int32, len(texts))
	for i, s := range texts {
		want[i] = tok.Encode(s)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := (g + i) % len(texts)
				if got := tok.Encode(texts[k]); !slices.Equal(got, want[k]) {
					t.Errorf("concurrent Encode(%q) differs", texts[k])
					return
				}
				tok.Encode(fmt.Sprintf("word%dx%d", g, i)) // cache churn
			}
		}()
	}
	wg.Wait()
}

func TestTokenizerCacheBounded(t *testing.T) {
	tok, err := NewTokenizerFromBPE(clipVocabPath(t), 77)
	if err != nil {
		t.Fatal(err)
	}
	want := tok.Encode("a photo of a cat")
	letters := "abcdefghijklmnopqrstuvwxyz"
	for i := range bpeCacheMax + 100 {
		w := []byte{letters[i%26], letters[i/26%26], letters[i/676%26], 'q'}
		tok.Encode(string(w))
		tok.mu.Lock()
		n := len(tok.cache)
		tok.mu.Unlock()
		if n > bpeCacheMax {
			t.Fatalf("cache grew to %d entries", n)
		}
	}
	if got := tok.Encode("a photo of a cat"); !slices.Equal(got, want) {
		t.Errorf("after cache resets: %v", got)
	}
	if got := tok.Encode("<|endoftext|>"); got[1] != 49407 || got[2] != 49407 {
		t.Errorf("special token after reset: %v", got[:3])
	}
}

func BenchmarkTokenizerEncode(b *testing.B) {
	tok := realCLIPTokenizer(b)
	for b.Loop() {
		tok.Encode("a photo of my dog playing in the snow at Christmas")
	}
}

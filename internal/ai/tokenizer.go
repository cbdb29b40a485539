package ai

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// CLIP's special tokens. In OpenAI's vocabulary (and every open_clip model
// that reuses it) they are the last two ids, 49406 and 49407.
const (
	StartOfTextToken = "<|startoftext|>"
	EndOfTextToken   = "<|endoftext|>"
)

// endOfWord is appended to the last symbol of every word before BPE, exactly
// as in simple_tokenizer.py.
const endOfWord = "</w>"

// bpeCacheMax bounds the per-word BPE cache. Search queries are short and
// repetitive, so a few thousand distinct words cover almost every query; when
// the bound is hit the cache is simply dropped and refilled.
const bpeCacheMax = 1 << 14

// Tokenizer is the CLIP byte-level BPE tokenizer, a port of OpenAI's
// simple_tokenizer.py (which open_clip uses unchanged). It is safe for
// concurrent use.
type Tokenizer struct {
	contextLength int
	sot, eot, pad int32
	padToken      string

	encoder map[string]int32 // token string -> id
	decoder map[int32]string // id -> token string
	merges  [][2]string      // in rank order
	ranks   map[[2]string]int

	mu    sync.Mutex
	cache map[string][]int32 // byte-encoded word -> ids
}

// ContextLength is the length of every sequence Encode returns.
func (t *Tokenizer) ContextLength() int { return t.contextLength }

// VocabSize is the number of entries in the vocabulary (49408 for CLIP).
func (t *Tokenizer) VocabSize() int { return len(t.encoder) }

// StartID, EndID and PadID are the ids of the start, end and padding tokens.
func (t *Tokenizer) StartID() int32 { return t.sot }
func (t *Tokenizer) EndID() int32   { return t.eot }
func (t *Tokenizer) PadID() int32   { return t.pad }

// ---------------------------------------------------------------------------
// Byte encoder (bytes_to_unicode)

var (
	byteEncoder [256]string   // byte -> printable one-rune string
	byteDecoder map[rune]byte // inverse
)

func init() {
	// bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68
	// bytes to U+0100.. in byte order, so no symbol is whitespace or a control
	// character.
	var keep [256]bool
	for b := '!'; b <= '~'; b++ {
		keep[b] = true
	}
	for b := '¡'; b <= '¬'; b++ {
		keep[b] = true
	}
	for b := '®'; b <= 'ÿ'; b++ {
		keep[b] = true
	}
	byteDecoder = make(map[rune]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !keep[b] {
			r = rune(256 + n)
			n++
		}
		byteEncoder[b] = string(r)
		byteDecoder[r] = byte(b)
	}
}

// bytesToUnicodeOrder lists the byte encoder's values in the order
// simple_tokenizer.py's dict(zip(bs, cs)).values() yields them: the printable
// bytes in ascending order, then the remapped ones. That order fixes the ids
// 0..255 (and 256..511 with "</w>").
func bytesToUnicodeOrder() []string {
	out := make([]string, 0, 256)
	var rest []string
	for b := 0; b < 256; b++ {
		if r, _ := utf8.DecodeRuneInString(byteEncoder[b]); r < 256 {
			out = append(out, byteEncoder[b])
		} else {
			rest = append(rest, byteEncoder[b])
		}
	}
	return append(out, rest...)
}

// ---------------------------------------------------------------------------
// Construction

// NewTokenizerFromBPE builds the tokenizer from OpenAI's
// bpe_simple_vocab_16e6.txt.gz exactly as simple_tokenizer.py does: merges are
// lines[1:49152-256-2+1] of the file; the vocabulary is the 256 byte symbols,
// the same with "</w>", every merge joined, then <|startoftext|> and
// <|endoftext|> (49408 entries). Padding uses <|endoftext|>, as in Immich's
// export of the OpenAI models.
func NewTokenizerFromBPE(gzPath string, contextLength int) (*Tokenizer, error) {
	f, err := os.Open(gzPath)
	if err != nil {
		return nil, fmt.Errorf("ai: BPE vocabulary: %w", err)
	}
	defer f.Close()
	return NewTokenizerFromBPEReader(f, gzPath, contextLength)
}

// NewTokenizerFromBPEReader is NewTokenizerFromBPE on the gzip-compressed
// vocabulary read from r (name is used in errors), for example
// clipvocab.Open().
func NewTokenizerFromBPEReader(r io.Reader, name string, contextLength int) (*Tokenizer, error) {
	gzPath := name
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("ai: BPE vocabulary %s: %w", gzPath, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("ai: BPE vocabulary %s: %w", gzPath, err)
	}
	lines := strings.Split(string(data), "\n")
	const last = 49152 - 256 - 2 + 1
	if len(lines) < last {
		return nil, fmt.Errorf("ai: BPE vocabulary %s: %d lines, want at least %d", gzPath, len(lines), last)
	}
	merges := make([][2]string, 0, last-1)
	for i, line := range lines[1:last] {
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("ai: BPE vocabulary %s: line %d: %q is not a merge pair", gzPath, i+2, line)
		}
		merges = append(merges, [2]string{f[0], f[1]})
	}
	base := bytesToUnicodeOrder()
	vocab := make([]string, 0, 2*len(base)+len(merges)+2)
	vocab = append(vocab, base...)
	for _, v := range base {
		vocab = append(vocab, v+endOfWord)
	}
	for _, m := range merges {
		vocab = append(vocab, m[0]+m[1])
	}
	vocab = append(vocab, StartOfTextToken, EndOfTextToken)
	encoder := make(map[string]int32, len(vocab))
	for i, v := range vocab {
		encoder[v] = int32(i) // later duplicates win, as in dict(zip(...))
	}
	return newTokenizer(encoder, merges, contextLength, EndOfTextToken)
}

// LoadTokenizer loads the tokenizer of a model's textual/ folder in Immich's
// Hugging Face layout: vocab.json (token -> id), merges.txt ("#version"
// header, then one "a b" pair per line in rank order) and
// tokenizer_config.json (pad_token, model_max_length). When vocab.json or
// merges.txt is absent the vocabulary and merges are read from tokenizer.json
// instead (only BPE models; multilingual SentencePiece tokenizers are not
// supported).
//
// The context length is tokenizer_config.json's model_max_length; when that
// is absent or implausible (some exports write 1e30) it is the parent folder's
// config.json text_cfg.context_length.
func LoadTokenizer(dir string) (*Tokenizer, error) {
	cfgPath := filepath.Join(dir, "tokenizer_config.json")
	var tc struct {
		PadToken       json.RawMessage `json:"pad_token"`
		ModelMaxLength *float64        `json:"model_max_length"`
	}
	if err := readJSON(cfgPath, &tc); err != nil {
		return nil, err
	}

	ctx := 0
	if tc.ModelMaxLength != nil && *tc.ModelMaxLength >= 2 && *tc.ModelMaxLength <= 1<<16 {
		ctx = int(*tc.ModelMaxLength)
	} else {
		var mc struct {
			TextCfg struct {
				ContextLength int `json:"context_length"`
			} `json:"text_cfg"`
		}
		p := filepath.Join(filepath.Dir(filepath.Clean(dir)), "config.json")
		if err := readJSON(p, &mc); err == nil && mc.TextCfg.ContextLength > 0 {
			ctx = mc.TextCfg.ContextLength
		} else {
			return nil, fmt.Errorf("ai: %s: no usable \"model_max_length\" and no text_cfg.context_length in %s", cfgPath, p)
		}
	}

	padToken, err := tokenString(tc.PadToken)
	if err != nil {
		return nil, fmt.Errorf("ai: %s: pad_token: %w", cfgPath, err)
	}
	if padToken == "" {
		// Not in tokenizer_config.json: try special_tokens_map.json, then
		// fall back to <|endoftext|> (Immich's exports always name one).
		var sm struct {
			PadToken json.RawMessage `json:"pad_token"`
		}
		if err := readJSON(filepath.Join(dir, "special_tokens_map.json"), &sm); err == nil {
			padToken, _ = tokenString(sm.PadToken)
		}
		if padToken == "" {
			padToken = EndOfTextToken
		}
	}

	encoder, merges, err := loadVocabAndMerges(dir)
	if err != nil {
		return nil, err
	}
	return newTokenizer(encoder, merges, ctx, padToken)
}

func loadVocabAndMerges(dir string) (map[string]int32, [][2]string, error) {
	vocabPath := filepath.Join(dir, "vocab.json")
	mergesPath := filepath.Join(dir, "merges.txt")
	_, errV := os.Stat(vocabPath)
	_, errM := os.Stat(mergesPath)
	if errors.Is(errV, os.ErrNotExist) || errors.Is(errM, os.ErrNotExist) {
		tjPath := filepath.Join(dir, "tokenizer.json")
		if _, err := os.Stat(tjPath); err != nil {
			return nil, nil, fmt.Errorf("ai: tokenizer folder %s: need vocab.json and merges.txt (or tokenizer.json): %w", dir, errors.Join(errV, errM))
		}
		return loadTokenizerJSON(tjPath)
	}

	var encoder map[string]int32
	if err := readJSON(vocabPath, &encoder); err != nil {
		return nil, nil, err
	}
	f, err := os.Open(mergesPath)
	if err != nil {
		return nil, nil, fmt.Errorf("ai: %w", err)
	}
	defer f.Close()
	var merges [][2]string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if n == 1 && strings.HasPrefix(line, "#version") {
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, nil, fmt.Errorf("ai: %s: line %d: %q is not a merge pair", mergesPath, n, line)
		}
		merges = append(merges, [2]string{f[0], f[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("ai: %s: %w", mergesPath, err)
	}
	return encoder, merges, nil
}

// loadTokenizerJSON reads the vocabulary and merges of a Hugging Face
// tokenizers file whose model is BPE. Merges may be "a b" strings or [a, b]
// pairs (newer tokenizers versions).
func loadTokenizerJSON(path string) (map[string]int32, [][2]string, error) {
	var tj struct {
		Model struct {
			Type   string            `json:"type"`
			Vocab  map[string]int32  `json:"vocab"`
			Merges []json.RawMessage `json:"merges"`
		} `json:"model"`
	}
	if err := readJSON(path, &tj); err != nil {
		return nil, nil, err
	}
	if tj.Model.Type != "BPE" {
		return nil, nil, fmt.Errorf("ai: %s: model type %q is not supported (only CLIP's BPE)", path, tj.Model.Type)
	}
	merges := make([][2]string, 0, len(tj.Model.Merges))
	for i, raw := range tj.Model.Merges {
		var s string
		var pair []string
		if json.Unmarshal(raw, &s) == nil {
			pair = strings.Fields(s)
		} else if err := json.Unmarshal(raw, &pair); err != nil {
			return nil, nil, fmt.Errorf("ai: %s: merge %d: %w", path, i, err)
		}
		if len(pair) != 2 {
			return nil, nil, fmt.Errorf("ai: %s: merge %d is not a pair", path, i)
		}
		merges = append(merges, [2]string{pair[0], pair[1]})
	}
	return tj.Model.Vocab, merges, nil
}

func newTokenizer(encoder map[string]int32, merges [][2]string, contextLength int, padToken string) (*Tokenizer, error) {
	if contextLength < 2 {
		return nil, fmt.Errorf("ai: tokenizer: context length %d, need at least 2", contextLength)
	}
	t := &Tokenizer{
		contextLength: contextLength,
		padToken:      padToken,
		encoder:       encoder,
		decoder:       make(map[int32]string, len(encoder)),
		merges:        merges,
		ranks:         make(map[[2]string]int, len(merges)),
	}
	for tok, id := range encoder {
		t.decoder[id] = tok
	}
	for i, m := range merges {
		t.ranks[m] = i // a repeated pair keeps its last rank, as dict(zip(merges, range(...))) does
	}
	var ok bool
	if t.sot, ok = encoder[StartOfTextToken]; !ok {
		return nil, fmt.Errorf("ai: tokenizer: vocabulary has no %s", StartOfTextToken)
	}
	if t.eot, ok = encoder[EndOfTextToken]; !ok {
		return nil, fmt.Errorf("ai: tokenizer: vocabulary has no %s", EndOfTextToken)
	}
	if t.pad, ok = encoder[padToken]; !ok {
		return nil, fmt.Errorf("ai: tokenizer: pad token %q is not in the vocabulary", padToken)
	}
	// Every byte symbol, alone and as a word end, must be present, or some
	// inputs could not be encoded.
	for b := 0; b < 256; b++ {
		for _, s := range [2]string{byteEncoder[b], byteEncoder[b] + endOfWord} {
			if _, ok := encoder[s]; !ok {
				return nil, fmt.Errorf("ai: tokenizer: vocabulary lacks byte symbol %q", s)
			}
		}
	}
	t.resetCache()
	return t, nil
}

func (t *Tokenizer) resetCache() {
	t.cache = map[string][]int32{
		StartOfTextToken: {t.sot},
		EndOfTextToken:   {t.eot},
	}
}

// ---------------------------------------------------------------------------
// Encoding

// tokenPattern is simple_tokenizer.py's pattern, compiled by the regex module
// with re.IGNORECASE. Go's (?i) differs from it in one place: Go folds the
// negated class too, so U+0345 (which folds to ι) would match it, whereas
// the regex module matches U+0345 with no alternative and so drops it. Hence
// (?i) covers only the literal alternatives (where it matters, e.g. 'ſ is a
// contraction in both engines) and U+0345 is excluded explicitly. The text
// reaching the pattern has had every Unicode White_Space run replaced by one
// ASCII space, so Go's ASCII-only \s would do; the other White_Space code
// points are listed anyway so the class is right on its own.
var tokenPattern = regexp.MustCompile(`(?i:<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d)|[\p{L}]+|[\p{N}]|[^\s\v\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{345}\p{L}\p{N}]+`)

// Encode tokenizes text the way open_clip's tokenize() does: cleaned,
// lower-cased, BPE-encoded, wrapped in <|startoftext|> … <|endoftext|>,
// truncated to ContextLength (keeping <|endoftext|> last) and padded with the
// pad token's id. The result always has ContextLength ids.
func (t *Tokenizer) Encode(text string) []int32 {
	out := make([]int32, 0, t.contextLength)
	out = append(out, t.sot)
	out = t.appendTokens(out, text, t.contextLength-2)
	out = append(out, t.eot)
	for len(out) < t.contextLength {
		out = append(out, t.pad)
	}
	return out
}

// Tokenize returns the BPE ids of text without the start and end tokens,
// padding or truncation (simple_tokenizer.py's encode).
func (t *Tokenizer) Tokenize(text string) []int32 {
	return t.appendTokens(nil, text, -1)
}

// appendTokens appends the ids of text to dst, at most max of them (no limit
// when max < 0).
func (t *Tokenizer) appendTokens(dst []int32, text string, max int) []int32 {
	text = CleanText(text)
	n := 0
	var buf strings.Builder
	for _, word := range tokenPattern.FindAllString(text, -1) {
		if max >= 0 && n >= max {
			break
		}
		buf.Reset()
		for i := 0; i < len(word); i++ {
			buf.WriteString(byteEncoder[word[i]])
		}
		ids := t.bpe(buf.String())
		if max >= 0 && n+len(ids) > max {
			ids = ids[:max-n]
		}
		dst = append(dst, ids...)
		n += len(ids)
	}
	return dst
}

// bpe returns the ids of one byte-encoded word, from the cache when possible.
func (t *Tokenizer) bpe(token string) []int32 {
	t.mu.Lock()
	ids, ok := t.cache[token]
	t.mu.Unlock()
	if ok {
		return ids
	}
	ids = t.bpeUncached(token)
	t.mu.Lock()
	if len(t.cache) >= bpeCacheMax {
		t.resetCache()
	}
	t.cache[token] = ids
	t.mu.Unlock()
	return ids
}

func (t *Tokenizer) bpeUncached(token string) []int32 {
	word := make([]string, 0, utf8.RuneCountInString(token))
	for _, r := range token {
		word = append(word, string(r))
	}
	word[len(word)-1] += endOfWord

	for len(word) > 1 {
		best, bestRank := [2]string{}, -1
		for i := 0; i+1 < len(word); i++ {
			p := [2]string{word[i], word[i+1]}
			if r, ok := t.ranks[p]; ok && (bestRank < 0 || r < bestRank) {
				best, bestRank = p, r
			}
		}
		if bestRank < 0 {
			break
		}
		merged := word[:0:0]
		for i := 0; i < len(word); {
			if i+1 < len(word) && word[i] == best[0] && word[i+1] == best[1] {
				merged = append(merged, best[0]+best[1])
				i += 2
			} else {
				merged = append(merged, word[i])
				i++
			}
		}
		word = merged
	}

	ids := make([]int32, 0, len(word))
	for _, s := range word {
		if id, ok := t.encoder[s]; ok {
			ids = append(ids, id)
		}
		// A symbol missing from the vocabulary can only come from a merge
		// whose result is not in vocab.json, i.e. an inconsistent folder;
		// it is dropped rather than guessed.
	}
	return ids
}

// Decode turns ids back into text like simple_tokenizer.py's decode: the
// tokens are joined, byte-decoded (invalid UTF-8 becomes U+FFFD) and every
// "</w>" becomes a space. Unknown ids are skipped.
func (t *Tokenizer) Decode(ids []int32) string {
	var sb strings.Builder
	for _, id := range ids {
		sb.WriteString(t.decoder[id])
	}
	var raw []byte
	for _, r := range sb.String() {
		if b, ok := byteDecoder[r]; ok {
			raw = append(raw, b)
		} else {
			raw = utf8.AppendRune(raw, r)
		}
	}
	return strings.ReplaceAll(strings.ToValidUTF8(string(raw), "\uFFFD"), endOfWord, " ")
}

// ---------------------------------------------------------------------------
// Text clean-up

// CleanText applies simple_tokenizer.py's clean-up and lower-casing:
// basic_clean (ftfy.fix_text, html.unescape twice, strip), whitespace_clean
// (every run of Unicode white space becomes one space, strip) and
// str.lower().
//
// ftfy itself is not ported. fixText does the parts of ftfy.fix_text that
// matter for typed search queries (NFC, curly quotes, Latin ligatures, full-
// and half-width forms, control characters, HTML entities); mojibake repair
// is not attempted.
func CleanText(text string) string {
	text = fixText(text)
	text = pyHTMLUnescape(pyHTMLUnescape(text))
	text = strings.TrimFunc(text, pyIsSpace)
	text = collapseSpace(text)
	text = strings.TrimFunc(text, pyIsSpace)
	return pyLower(text)
}

// pyIsSpace is Python's str.isspace, which str.strip() uses: Unicode
// White_Space plus the separators U+001C..U+001F.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// collapseSpace is re.sub(r'\s+', ' ', text) with the regex module, whose
// Unicode \s is exactly unicode.IsSpace (White_Space).
func collapseSpace(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	inSpace := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			if !inSpace {
				sb.WriteByte(' ')
			}
			inSpace = true
			continue
		}
		inSpace = false
		sb.WriteRune(r)
	}
	return sb.String()
}

// pyLower is Python's str.lower(): Go's simple mapping plus the two
// SpecialCasing rules CPython applies, U+0130 -> "i\u0307" and the final
// sigma.
func pyLower(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	rs := []rune(s)
	var sb strings.Builder
	sb.Grow(len(s))
	for i, r := range rs {
		switch r {
		case 0x130:
			sb.WriteString("i\u0307")
		case 0x3A3:
			if finalSigma(rs, i) {
				sb.WriteRune(0x3C2)
			} else {
				sb.WriteRune(0x3C3)
			}
		default:
			sb.WriteRune(unicode.ToLower(r))
		}
	}
	return sb.String()
}

// finalSigma reports whether rs[i] (a capital sigma) is in the Final_Sigma
// context: \p{cased} \p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased}).
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && caseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !cased(rs[j]) {
		return false
	}
	j = i + 1
	for j < len(rs) && caseIgnorable(rs[j]) {
		j++
	}
	return j == len(rs) || !cased(rs[j])
}

func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

func caseIgnorable(r rune) bool {
	switch r {
	// Word_Break = MidLetter, MidNumLet or Single_Quote.
	case '\'', '.', ':', 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// pyCharref is html._charref from CPython's html module.
var pyCharref = regexp.MustCompile(`&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`)

// pyHTMLUnescape is Python's html.unescape. Named references go through Go's
// html.UnescapeString, which implements the same HTML5 table and
// longest-prefix rule; numeric ones are done here because Python drops the
// code points HTML5 calls invalid (e.g. &#28;) where Go keeps them.
func pyHTMLUnescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return pyCharref.ReplaceAllStringFunc(s, func(m string) string {
		if len(m) < 2 || m[1] != '#' {
			return html.UnescapeString(m)
		}
		digits := strings.TrimSuffix(m[2:], ";")
		base := 10
		if digits != "" && (digits[0] == 'x' || digits[0] == 'X') {
			digits, base = digits[1:], 16
		}
		num, err := strconv.ParseUint(digits, base, 64)
		if err != nil { // overflow: certainly above U+10FFFF
			return "\uFFFD"
		}
		if num == 0 {
			return "\uFFFD"
		}
		if num == 0x0d {
			return "\r"
		}
		if num >= 0x80 && num <= 0x9f {
			// Windows-1252 remapping (html._invalid_charrefs); Go's table is
			// the same, including the undefined bytes kept as C1 controls.
			return html.UnescapeString("&#" + strconv.FormatUint(num, 10) + ";")
		}
		if (num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF {
			return "\uFFFD"
		}
		if (num >= 0x1 && num <= 0x8) || (num >= 0xe && num <= 0x1f) || (num >= 0x7f && num <= 0x9f) ||
			(num >= 0xfdd0 && num <= 0xfdef) || num == 0xb || num&0xfffe == 0xfffe {
			return "" // html._invalid_codepoints
		}
		return string(rune(num))
	})
}

// ftfy's HTML entity pattern: only complete, semicolon-terminated references.
var ftfyEntity = regexp.MustCompile(`&#?[0-9A-Za-z]{1,24};`)

var ligatures = strings.NewReplacer(
	"Ĳ", "IJ", "ĳ", "ij", "ﬀ", "ff", "ﬁ", "fi", "ﬂ", "fl", "ﬃ", "ffi", "ﬄ", "ffl", "ﬅ", "ſt", "ﬆ", "st",
)

var (
	widthOnce sync.Once
	widthMap  map[rune]string
)

// fixText does the cheap, meaning-relevant parts of ftfy.fix_text with its
// default settings, in ftfy's order: unescape_html (only when the text has no
// '<'), fix_latin_ligatures, fix_character_width, uncurl_quotes,
// remove_control_chars, then NFC normalisation. fix_encoding (mojibake)
// and remove_terminal_escapes are not ported.
func fixText(s string) string {
	if !strings.Contains(s, "<") && strings.Contains(s, "&") {
		s = ftfyEntity.ReplaceAllStringFunc(s, func(m string) string {
			u := pyHTMLUnescape(m)
			if strings.Contains(u, ";") { // not a known entity: keep as is
				return m
			}
			return u
		})
	}
	s = ligatures.Replace(s)
	widthOnce.Do(func() {
		// ftfy's WIDTH_MAP: U+3000 and every U+FF01..U+FFEF whose NFKC form differs.
		widthMap = map[rune]string{0x3000: " "}
		for r := rune(0xFF01); r < 0xFFF0; r++ {
			if a := norm.NFKC.String(string(r)); a != string(r) {
				widthMap[r] = a
			}
		}
	})
	var sb strings.Builder
	sb.Grow(len(s))
	for _, r := range s {
		switch {
		case r == 0x2BC || (r >= 0x2018 && r <= 0x201B):
			sb.WriteByte('\'')
		case r >= 0x201C && r <= 0x201F:
			sb.WriteByte('"')
		case controlChar(r):
		default:
			if w, ok := widthMap[r]; ok {
				sb.WriteString(w)
			} else {
				sb.WriteRune(r)
			}
		}
	}
	return norm.NFC.String(sb.String())
}

// controlChar is ftfy's CONTROL_CHARS: C0 controls other than tab, LF, FF and
// CR, DEL, deprecated format characters, BOM, interlinear annotation marks,
// musical formatting and language tags.
func controlChar(r rune) bool {
	return (r <= 0x08) || r == 0x0b || (r >= 0x0e && r <= 0x1f) || r == 0x7f ||
		(r >= 0x206a && r <= 0x206f) || r == 0xfeff || (r >= 0xfff9 && r <= 0xfffc) ||
		(r >= 0x1d173 && r <= 0x1d17a) || (r >= 0xe0000 && r <= 0xe007f)
}

// ---------------------------------------------------------------------------
// Writing a tokenizer folder

// WriteFolder writes the tokenizer as a model's textual/ folder in Immich's
// layout (vocab.json, merges.txt, tokenizer_config.json,
// special_tokens_map.json and a tokenizer.json for the Hugging Face
// tokenizers library), creating dir if needed. LoadTokenizer(dir) gives back
// a tokenizer that encodes identically.
func (t *Tokenizer) WriteFolder(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("ai: %w", err)
	}
	vocab := t.orderedVocab()
	mergeLines := make([]string, len(t.merges))
	for i, m := range t.merges {
		mergeLines[i] = m[0] + " " + m[1]
	}

	var vj bytes.Buffer
	writeVocabJSON(&vj, vocab)
	var mt bytes.Buffer
	mt.WriteString("#version: 0.2\n")
	for _, l := range mergeLines {
		mt.WriteString(l)
		mt.WriteByte('\n')
	}

	added := func(tok string) map[string]any {
		return map[string]any{"content": tok, "lstrip": false, "normalized": true, "rstrip": false, "single_word": false, "special": true}
	}
	tokConfig := map[string]any{
		"add_prefix_space":             false,
		"bos_token":                    StartOfTextToken,
		"clean_up_tokenization_spaces": true,
		"do_lower_case":                true,
		"eos_token":                    EndOfTextToken,
		"errors":                       "replace",
		"model_max_length":             t.contextLength,
		"pad_token":                    t.padToken,
		"tokenizer_class":              "CLIPTokenizer",
		"unk_token":                    EndOfTextToken,
	}
	specialMap := map[string]any{
		"bos_token": added(StartOfTextToken),
		"eos_token": added(EndOfTextToken),
		"pad_token": t.padToken,
		"unk_token": added(EndOfTextToken),
	}

	// tokenizer.json: the structure transformers' CLIPTokenizerFast saves.
	pattern := `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
	addedTokens := []map[string]any{}
	for _, tok := range []string{StartOfTextToken, EndOfTextToken} {
		a := added(tok)
		a["id"] = t.encoder[tok]
		addedTokens = append(addedTokens, a)
	}
	head := map[string]any{
		"version":    "1.0",
		"truncation": map[string]any{"direction": "Right", "max_length": t.contextLength, "strategy": "LongestFirst", "stride": 0},
		"padding": map[string]any{
			"strategy": map[string]any{"Fixed": t.contextLength}, "direction": "Right", "pad_to_multiple_of": nil,
			"pad_id": t.pad, "pad_type_id": 0, "pad_token": t.padToken,
		},
		"added_tokens": addedTokens,
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "NFC"},
			map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": `\s+`}, "content": " "},
			map[string]any{"type": "Lowercase"},
		}},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": pattern}, "behavior": "Removed", "invert": true},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
		}},
		"post_processor": map[string]any{
			"type": "RobertaProcessing", "sep": []any{EndOfTextToken, t.eot}, "cls": []any{StartOfTextToken, t.sot},
			"trim_offsets": false, "add_prefix_space": false,
		},
		"decoder": map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
	}
	headJSON := marshalJSON(head)
	mergesJSON := marshalJSON(mergeLines)
	var tj bytes.Buffer
	tj.Write(headJSON[:len(headJSON)-1]) // drop the closing brace, append the model
	tj.WriteString(`,"model":{"type":"BPE","dropout":null,"unk_token":`)
	tj.Write(marshalJSON(EndOfTextToken))
	tj.WriteString(`,"continuing_subword_prefix":"","end_of_word_suffix":"</w>","fuse_unk":false,"byte_fallback":false,"vocab":`)
	writeVocabJSON(&tj, vocab)
	tj.WriteString(`,"merges":`)
	tj.Write(mergesJSON)
	tj.WriteString("}}\n")

	files := []struct {
		name string
		data []byte
	}{
		{"vocab.json", vj.Bytes()},
		{"merges.txt", mt.Bytes()},
		{"tokenizer.json", tj.Bytes()},
	}
	for _, j := range []struct {
		name string
		v    any
	}{{"tokenizer_config.json", tokConfig}, {"special_tokens_map.json", specialMap}} {
		var b bytes.Buffer
		if err := json.Indent(&b, marshalJSON(j.v), "", "  "); err != nil {
			return fmt.Errorf("ai: %s: %w", j.name, err)
		}
		b.WriteByte('\n')
		files = append(files, struct {
			name string
			data []byte
		}{j.name, b.Bytes()})
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return fmt.Errorf("ai: %w", err)
		}
	}
	return nil
}

type vocabEntry struct {
	tok string
	id  int32
}

// orderedVocab lists the vocabulary by id.
func (t *Tokenizer) orderedVocab() []vocabEntry {
	out := make([]vocabEntry, 0, len(t.encoder))
	for tok, id := range t.encoder {
		out = append(out, vocabEntry{tok, id})
	}
	slices.SortFunc(out, func(a, b vocabEntry) int { return cmp.Compare(a.id, b.id) })
	return out
}

// writeVocabJSON writes {"token": id, ...} in id order, as Hugging Face's
// vocab.json is (json.Marshal would sort by key).
func writeVocabJSON(w *bytes.Buffer, vocab []vocabEntry) {
	w.WriteByte('{')
	for i, e := range vocab {
		if i > 0 {
			w.WriteByte(',')
		}
		w.Write(marshalJSON(e.tok))
		w.WriteByte(':')
		w.WriteString(strconv.Itoa(int(e.id)))
	}
	w.WriteByte('}')
}

// marshalJSON is json.Marshal without HTML escaping (tokens like
// "<|endoftext|>" stay readable), for values that cannot fail to encode.
func marshalJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only maps, slices, strings and numbers are passed
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// readJSON decodes the JSON file at path into v, with errors naming the file.
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("ai: missing %s: %w", path, fs.ErrNotExist)
	}
	if err != nil {
		return fmt.Errorf("ai: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("ai: %s: %w", path, err)
	}
	return nil
}

// tokenString reads a special token written either as a plain string or as a
// serialized AddedToken object {"content": "..."}; null or absent gives "".
func tokenString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", err
	}
	return obj.Content, nil
}

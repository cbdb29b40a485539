package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Parse("t", nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DBMaxConns != 10 || c.AcquireTimeout != 5*time.Second || c.DatabaseURL != "" ||
		c.LogLevel != slog.LevelInfo || c.MaxPixels != 0 {
		t.Fatalf("defaults: %+v", c)
	}
}

// The log level is read here, with the rest of the configuration.
func TestLogLevel(t *testing.T) {
	for v, want := range map[string]slog.Level{"debug": slog.LevelDebug, "WARN": slog.LevelWarn, "error": slog.LevelError} {
		c, err := Parse("t", nil, env(map[string]string{"SHOEBOX_LOG_LEVEL": v}))
		if err != nil || c.LogLevel != want {
			t.Errorf("SHOEBOX_LOG_LEVEL=%s: %v %v, want %v", v, c.LogLevel, err, want)
		}
	}
}

func TestEnvAndFlags(t *testing.T) {
	c, err := Parse("t", []string{"--library", "/a", "--library", "/b", "--library", "/a", "--addr", "127.0.0.1:9"},
		env(map[string]string{"SHOEBOX_DB_MAX_CONNS": "8", "SHOEBOX_DATA": "/d", "DATABASE_URL": "postgres://x", "SHOEBOX_ADDR": "0.0.0.0:1"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Libraries) != 2 || c.Libraries[0] != "/a" || c.Libraries[1] != "/b" {
		t.Fatalf("libraries %q", c.Libraries)
	}
	if c.DBMaxConns != 8 || c.DataDir != "/d" || c.DatabaseURL != "postgres://x" || c.Addr != "127.0.0.1:9" {
		t.Fatalf("got %+v", c)
	}
	c, err = Parse("t", nil, env(map[string]string{"SHOEBOX_LIBRARY": "/x:/y"}))
	if err != nil || len(c.Libraries) != 2 {
		t.Fatalf("SHOEBOX_LIBRARY: %v %q", err, c.Libraries)
	}
}

func TestInvalid(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{nil, map[string]string{"SHOEBOX_DB_MAX_CONNS": "lots"}},
		{nil, map[string]string{"SHOEBOX_DB_MAX_CONNS": "1"}},
		{[]string{"--addr", "nonsense"}, nil},
		{[]string{"stray"}, nil},
		{nil, map[string]string{"SHOEBOX_DB_ACQUIRE_TIMEOUT": "5"}},
		{nil, map[string]string{"SHOEBOX_STAY_INSIDE": "yes please"}},
		{nil, map[string]string{"SHOEBOX_LOG_LEVEL": "loud"}},
		{nil, map[string]string{"SHOEBOX_MAX_MEGAPIXELS": "-1"}},
	} {
		if _, err := Parse("t", tc.args, env(tc.env)); err == nil {
			t.Errorf("Parse(%q, %v) accepted", tc.args, tc.env)
		}
	}
}

// --clip-model takes the name of a model installed under <data>/models as
// well as a path; a path keeps working, names included.
func TestClipModelByNameOrPath(t *testing.T) {
	data := t.TempDir()
	installed := filepath.Join(data, "models", "ViT-B-32__openai")
	if err := os.MkdirAll(installed, 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := Parse("t", []string{"--clip-model", "ViT-B-32__openai"}, env(map[string]string{"SHOEBOX_DATA": data}))
	if err != nil || c.ClipModel != installed {
		t.Fatalf("by name: %q, %v; want %s", c.ClipModel, err, installed)
	}
	c, err = Parse("t", nil, env(map[string]string{"SHOEBOX_DATA": data, "SHOEBOX_CLIP_MODEL": "ViT-B-32__openai"}))
	if err != nil || c.ClipModel != installed {
		t.Fatalf("SHOEBOX_CLIP_MODEL by name: %q, %v; want %s", c.ClipModel, err, installed)
	}

	elsewhere := filepath.Join(t.TempDir(), "my-model")
	c, err = Parse("t", []string{"--data", data, "--clip-model", elsewhere}, env(nil))
	if err != nil || c.ClipModel != elsewhere {
		t.Fatalf("by path: %q, %v", c.ClipModel, err)
	}
	// A relative path, and a name that is not installed, are paths from the
	// working directory, as before.
	wd, _ := os.Getwd()
	for _, v := range []string{"models/x", "not-installed"} {
		c, err = Parse("t", []string{"--data", data, "--clip-model", v}, env(nil))
		if err != nil || c.ClipModel != filepath.Join(wd, v) {
			t.Fatalf("%q: %q, %v", v, c.ClipModel, err)
		}
	}
	// A name never climbs out of the models folder.
	c, err = Parse("t", []string{"--data", data, "--clip-model", ".."}, env(nil))
	if err != nil || c.ClipModel != filepath.Dir(wd) {
		t.Fatalf(`"..": %q, %v`, c.ClipModel, err)
	}
}

func TestModelHub(t *testing.T) {
	c, err := Parse("t", nil, env(nil))
	if err != nil || c.ModelHub != "https://huggingface.co" {
		t.Fatalf("default hub %q, %v", c.ModelHub, err)
	}
	c, err = Parse("t", nil, env(map[string]string{"SHOEBOX_MODEL_HUB": "http://127.0.0.1:9"}))
	if err != nil || c.ModelHub != "http://127.0.0.1:9" {
		t.Fatalf("SHOEBOX_MODEL_HUB: %q, %v", c.ModelHub, err)
	}
	for _, bad := range []string{"ftp://x", "127.0.0.1:9", "file:///etc"} {
		if _, err := Parse("t", nil, env(map[string]string{"SHOEBOX_MODEL_HUB": bad})); err == nil {
			t.Errorf("SHOEBOX_MODEL_HUB=%q accepted", bad)
		}
	}
}

func TestParseArgsKeepsWords(t *testing.T) {
	c, words, err := ParseArgs("t", []string{"get", "--data", "/d", "ViT-B-32__openai"}, env(nil))
	if err != nil || c.DataDir != "/d" || len(words) != 2 || words[0] != "get" || words[1] != "ViT-B-32__openai" {
		t.Fatalf("ParseArgs: %v %q %v", c, words, err)
	}
}

// Staying inside the library folders is off unless asked for, by flag or
// environment; the flag wins.
func TestStayInside(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want bool
	}{
		{nil, nil, false},
		{nil, map[string]string{"SHOEBOX_STAY_INSIDE": "true"}, true},
		{nil, map[string]string{"SHOEBOX_STAY_INSIDE": "false"}, false},
		{[]string{"--stay-inside"}, nil, true},
		{[]string{"--stay-inside=false"}, map[string]string{"SHOEBOX_STAY_INSIDE": "true"}, false},
	} {
		c, err := Parse("t", tc.args, env(tc.env))
		if err != nil {
			t.Fatalf("Parse(%q, %v): %v", tc.args, tc.env, err)
		}
		if c.StayInside != tc.want {
			t.Errorf("Parse(%q, %v): StayInside %v, want %v", tc.args, tc.env, c.StayInside, tc.want)
		}
	}
}

func TestMapTiles(t *testing.T) {
	c, err := Parse("t", nil, env(nil))
	if err != nil || c.MapTiles != DefaultMapTiles || c.MapAttribution != DefaultMapAttribution {
		t.Fatalf("default tiles: %q %q %v", c.MapTiles, c.MapAttribution, err)
	}
	c, err = Parse("t", nil, env(map[string]string{"SHOEBOX_MAP_TILES": "https://{s}.tiles.example/{z}/{x}/{y}.png"}))
	if err != nil || c.MapAttribution != "" {
		t.Fatalf("other tiles: %q %v (no attribution unless given)", c.MapAttribution, err)
	}
	if c, err = Parse("t", nil, env(map[string]string{"SHOEBOX_MAP_TILES": "off"})); err != nil || c.MapTiles != "off" {
		t.Fatalf("off: %v", err)
	}
	for _, bad := range []string{"tiles.example/{z}/{x}/{y}.png", "https://tiles.example/{z}/{x}.png", "ftp://h/{z}/{x}/{y}"} {
		if _, err := Parse("t", nil, env(map[string]string{"SHOEBOX_MAP_TILES": bad})); err == nil {
			t.Errorf("SHOEBOX_MAP_TILES=%s accepted", bad)
		}
	}
}

// Faces are on unless SHOEBOX_FACES says off; anything else is refused.
func TestFaces(t *testing.T) {
	for v, want := range map[string]bool{"": true, "on": true, "true": true, "off": false, "OFF": false, "false": false, "0": false} {
		c, err := Parse("t", nil, env(map[string]string{"SHOEBOX_FACES": v}))
		if err != nil || c.Faces != want {
			t.Errorf("SHOEBOX_FACES=%q: %v %v, want %v", v, c.Faces, err, want)
		}
	}
	if _, err := Parse("t", nil, env(map[string]string{"SHOEBOX_FACES": "maybe"})); err == nil {
		t.Error("SHOEBOX_FACES=maybe accepted")
	}
}

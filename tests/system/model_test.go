package system

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shoebox/internal/ai"
	"shoebox/internal/ai/toymodel"
	"shoebox/internal/modelhub/hubtest"
)

// `shoebox model get NAME` installs a model from a hub (a local one that
// answers in the Hugging Face hub's URL layout), riding over a dropped
// connection; `model list` shows it; SHOEBOX_CLIP_MODEL=NAME loads it.
func TestModelGetListAndUseByName(t *testing.T) {
	src := filepath.Join(t.TempDir(), "toy-clip")
	if err := toymodel.Write(src, toymodel.Options{}); err != nil {
		t.Fatal(err)
	}
	hub := hubtest.New(t)
	hub.AddFolder(t, "toy-clip", src)
	hub.AddFile("toy-clip", "visual/rknpu/rk3588/model.rknn", []byte("another backend"))
	hub.DropAfter("toy-clip", "textual/model.onnx", 4096)
	data := t.TempDir()
	env := shoeboxEnv("SHOEBOX_MODEL_HUB=" + hub.URL)

	get := startProc(t, "model get", env, shoeboxBin, "model", "get", "toy-clip", "--data", data)
	if err := get.wait(t, 60*time.Second); err != nil {
		t.Fatalf("model get: %v\n%s%s", err, get.stdout.String(), get.stderr.String())
	}
	if out := get.stdout.String(); !strings.Contains(out, "installed toy-clip in "+filepath.Join(data, "models", "toy-clip")) || !strings.Contains(out, "8-d") {
		t.Fatalf("model get says:\n%s", out)
	}
	// Not a terminal: plain progress lines, no carriage returns.
	if errOut := get.stderr.String(); !strings.Contains(errOut, "textual/model.onnx") || strings.Contains(errOut, "\r") {
		t.Fatalf("model get's progress on a pipe:\n%q", errOut)
	}
	resumed := false
	for _, r := range hub.Requests() {
		resumed = resumed || (r.Server == "cdn" && r.Range == "bytes=4096-")
		if strings.Contains(r.Path, "rknpu") {
			t.Errorf("fetched %s", r.Path)
		}
	}
	if !resumed {
		t.Fatalf("the dropped transfer was not resumed with a Range request: %+v", hub.Requests())
	}
	for _, rel := range []string{"config.json", "visual/model.onnx", "textual/model.onnx", "textual/vocab.json"} {
		want, _ := os.ReadFile(filepath.Join(src, rel))
		got, err := os.ReadFile(filepath.Join(data, "models", "toy-clip", rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: installed copy differs (%v)", rel, err)
		}
	}

	list := startProc(t, "model list", env, shoeboxBin, "model", "list", "--data", data)
	if err := list.wait(t, 30*time.Second); err != nil {
		t.Fatalf("model list: %v\n%s", err, list.stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(list.stdout.String()), "\n")
	if f := strings.Fields(lines[len(lines)-1]); len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") ||
		f[0] != "toy-clip" || f[len(f)-1] != "8" {
		t.Fatalf("model list:\n%s", list.stdout.String())
	}

	bad := startProc(t, "model get ../x", env, shoeboxBin, "model", "get", "../x", "--data", data)
	if err := bad.wait(t, 30*time.Second); err == nil || !strings.Contains(bad.stderr.String(), "not a model name") {
		t.Fatalf("model get ../x: %v\n%s", err, bad.stderr.String())
	}

	_, dbURL := startCluster(t, nil)
	doc := startProc(t, "doctor", shoeboxEnv("DATABASE_URL="+dbURL, "SHOEBOX_CLIP_MODEL=toy-clip",
		"SHOEBOX_ORT_LIB="+ai.DefaultORTLib()), shoeboxBin, "doctor", "--data", data)
	if err := doc.wait(t, 60*time.Second); err != nil {
		t.Fatalf("doctor: %v\n%s%s", err, doc.stdout.String(), doc.stderr.String())
	}
	for _, want := range []string{"ok   clip model", "toy-clip (8-d", "ok   text encoder", "ok   image encoder"} {
		if !strings.Contains(doc.stdout.String(), want) {
			t.Fatalf("doctor with SHOEBOX_CLIP_MODEL=toy-clip lacks %q:\n%s", want, doc.stdout.String())
		}
	}
}

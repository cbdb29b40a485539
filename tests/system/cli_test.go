package system

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shoebox/internal/ai"
	"shoebox/internal/ai/toymodel"
)

// A second shoebox on a data folder in use is refused with a message that
// says so; `stats` and `doctor` may share it with the running server.
func TestSecondServerRefusedStatsAndDoctorShare(t *testing.T) {
	lib, _ := makeLibrary(t, 6, 0)
	dataDir, _ := embeddedDataDir(t)
	s := startServe(t, serveOpts{library: lib, dataDir: dataDir})
	s.waitIndexed(t, 2*time.Minute)

	second := startProc(t, "second serve", shoeboxEnv(), shoeboxBin, "serve", "--library", lib,
		"--data", dataDir, "--addr", "127.0.0.1:0")
	if err := second.wait(t, 60*time.Second); err == nil {
		t.Fatal("a second serve on the same data folder must fail")
	}
	if msg := second.stderr.String(); !strings.Contains(msg, "already using data folder") {
		t.Fatalf("second serve's message does not say why: %s", msg)
	}

	st := startProc(t, "stats", shoeboxEnv(), shoeboxBin, "stats", "--data", dataDir)
	if err := st.wait(t, 60*time.Second); err != nil {
		t.Fatalf("stats: %v: %s", err, st.stderr.String())
	}
	var figures struct {
		Photos int `json:"photos"`
		Queue  struct{ Pending int }
		Places *struct {
			Located *int `json:"located"`
		} `json:"places"`
	}
	if err := json.Unmarshal([]byte(st.stdout.String()), &figures); err != nil || figures.Photos != 6 {
		t.Fatalf("stats output %q (%v): want 6 photos", st.stdout.String(), err)
	}
	if figures.Places == nil || figures.Places.Located == nil || *figures.Places.Located > figures.Photos {
		t.Fatalf("stats output %q: want places{located} (as /api/stats)", st.stdout.String())
	}

	doc := startProc(t, "doctor", shoeboxEnv(), shoeboxBin, "doctor", "--data", dataDir, "--library", lib)
	if err := doc.wait(t, 60*time.Second); err != nil {
		t.Fatalf("doctor: %v\n%s%s", err, doc.stdout.String(), doc.stderr.String())
	}
	out := doc.stdout.String()
	for _, want := range []string{"ok   libvips", "jpeg", "ok   postgresql", "15.", "ok   pgvector", "ok   connections", "max_connections", "clip model"} {
		if !strings.Contains(out, want) {
			t.Fatalf("doctor output lacks %q:\n%s", want, out)
		}
	}
	// The server is still there, untouched by the others.
	s.mustGet(t, "/", 200)
}

// doctor with a model loads it and runs both encoders once.
func TestDoctorSmokeTestsModel(t *testing.T) {
	model := filepath.Join(t.TempDir(), "toy-clip")
	if err := toymodel.Write(model, toymodel.Options{}); err != nil {
		t.Fatal(err)
	}
	_, dbURL := startCluster(t, nil)
	doc := startProc(t, "doctor", shoeboxEnv("DATABASE_URL="+dbURL, "SHOEBOX_CLIP_MODEL="+model,
		"SHOEBOX_ORT_LIB="+ai.DefaultORTLib()), shoeboxBin, "doctor", "--data", t.TempDir())
	if err := doc.wait(t, 60*time.Second); err != nil {
		t.Fatalf("doctor: %v\n%s%s", err, doc.stdout.String(), doc.stderr.String())
	}
	out := doc.stdout.String()
	// The version doctor reports is the installed library's, read here
	// from the same library (not a version pinned in the test).
	if err := ai.InitORT(ai.DefaultORTLib(), 1); err != nil {
		t.Fatal(err)
	}
	version := ai.ORTVersion()
	if version == "" {
		t.Fatal("ONNX Runtime reports no version")
	}
	for _, want := range []string{"ok   onnx runtime", fmt.Sprintf("ok   %-16s %s (", "onnx runtime", version), "ok   clip model", "toy-clip (8-d", "ok   text encoder", "ok   image encoder"} {
		if !strings.Contains(out, want) {
			t.Fatalf("doctor output lacks %q:\n%s", want, out)
		}
	}
}

package modelhub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Installed is a model folder under the models folder.
type Installed struct {
	Name  string
	Dir   string
	Bytes int64 // total size of its files
	Dim   int   // embedding size from config.json's embed_dim; 0 if it does not say
	// Partial marks a download that stopped before it was complete (in the
	// staging folder; `model get` resumes it). It is not usable.
	Partial bool
}

// List returns the models installed in modelsDir, by name, then the
// partial downloads. A missing folder is an empty list.
func List(modelsDir string) ([]Installed, error) {
	var out []Installed
	for _, d := range []struct {
		dir     string
		partial bool
	}{{modelsDir, false}, {filepath.Join(modelsDir, partialDir), true}} {
		ents, err := os.ReadDir(d.dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("modelhub: %w", err)
		}
		for _, e := range ents {
			if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			m := Installed{Name: e.Name(), Dir: filepath.Join(d.dir, e.Name()), Partial: d.partial}
			m.Bytes = folderSize(m.Dir)
			m.Dim = embedDim(filepath.Join(m.Dir, "config.json"))
			out = append(out, m)
		}
	}
	return out, nil
}

func folderSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// embedDim reads config.json's embed_dim (open_clip's model config).
func embedDim(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var c struct {
		EmbedDim int `json:"embed_dim"`
	}
	if json.Unmarshal(b, &c) != nil || c.EmbedDim < 0 {
		return 0
	}
	return c.EmbedDim
}

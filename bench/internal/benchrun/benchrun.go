// Package benchrun holds what every benchmark program of bench/ shares:
// messages under the program's name, the module root, the load average.
package benchrun

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Program prints a benchmark program's messages, prefixed by its name.
type Program string

// Fatal prints err and exits 1.
func (p Program) Fatal(err error) {
	fmt.Fprintf(os.Stderr, "%s: error: %v\n", p, err)
	os.Exit(1)
}

// Logf prints one line to standard error.
func (p Program) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, string(p)+": "+format+"\n", args...)
}

// ModuleRoot is the folder holding go.mod at or above the working
// directory (the working directory when there is none).
func ModuleRoot() string {
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return wd
		}
	}
}

// LoadAvg is the one-minute load average ("?" when unknown).
func LoadAvg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

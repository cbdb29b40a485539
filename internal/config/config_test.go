package config

import (
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Parse("t", nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DBMaxConns != 10 || c.AcquireTimeout != 5*time.Second || c.DatabaseURL != "" {
		t.Fatalf("defaults: %+v", c)
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
	} {
		if _, err := Parse("t", tc.args, env(tc.env)); err == nil {
			t.Errorf("Parse(%q, %v) accepted", tc.args, tc.env)
		}
	}
}

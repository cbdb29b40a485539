package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"shoebox/internal/config"
	"shoebox/internal/jobs"
	"shoebox/internal/storage"
)

const libraryUsage = `usage:
  shoebox library add PATH --owner NAME
  shoebox library share PATH --with NAME
  shoebox library unshare PATH --with NAME
  shoebox library list`

// library manages who a photo folder belongs to and who else sees it. A
// library added here is scanned by a running server (the scan is queued
// in the database) and by every later serve; a running server applies a
// new owner or share within a second (its auth poll).
func libraryCmd(ctx context.Context, cfg *config.Config, log *slog.Logger, words []string) error {
	if len(words) == 0 {
		return errors.New(libraryUsage)
	}
	verb := words[0]
	flags, rest, err := parseWords(words[1:], libraryUsage, "owner", "with")
	if err != nil {
		return err
	}
	var root string
	switch {
	case verb == "add" && len(rest) == 1 && flags["owner"] != "" && flags["with"] == "":
	case (verb == "share" || verb == "unshare") && len(rest) == 1 && flags["with"] != "" && flags["owner"] == "":
	case verb == "list" && len(rest) == 0 && len(flags) == 0:
	default:
		return errors.New(libraryUsage)
	}
	if len(rest) == 1 {
		var err error
		if root, err = libraryRoot(rest[0], verb == "add"); err != nil {
			return err
		}
	}
	a, err := openApp(ctx, cfg, quietLogger(log), false)
	if err != nil {
		return err
	}
	defer a.close()
	switch verb {
	case "add":
		owner := flags["owner"]
		var added bool
		err := a.st.Tx(ctx, func(tx *storage.Storage) error {
			var err error
			if _, added, err = tx.AddLibrary(ctx, root, owner); err != nil {
				return err
			}
			return tx.Enqueue(ctx, jobs.ScanJob(root))
		})
		switch {
		case errors.Is(err, storage.ErrOwned):
			return fmt.Errorf("library %s belongs to another account (shoebox library list says whose); "+
				"its owner can share it: shoebox library share %s --with %s", root, root, owner)
		case errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("no account %q (shoebox user list shows them)", owner)
		case err != nil:
			return err
		}
		audit(ctx, a, "library-add", owner, root)
		if added {
			fmt.Printf("library %s added for %s; a running server scans it now\n", root, owner)
		} else {
			fmt.Printf("library %s belongs to %s\n", root, owner)
		}
	case "share", "unshare":
		with := flags["with"]
		err := a.st.ShareLibrary(ctx, root, with, verb == "share")
		switch {
		case errors.Is(err, storage.ErrExists):
			return fmt.Errorf("%s owns %s already", with, root)
		case errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("%w (shoebox library list and shoebox user list show what exists)", err)
		case err != nil:
			return err
		}
		audit(ctx, a, "library-"+verb, with, root)
		if verb == "share" {
			fmt.Printf("library %s shared with %s\n", root, with)
		} else {
			fmt.Printf("library %s no longer shared with %s; running servers stop showing it within a second\n", root, with)
		}
	case "list":
		libs, err := a.st.Libraries(ctx)
		if err != nil {
			return err
		}
		for _, l := range libs {
			owner := l.Owner
			if owner == "" {
				owner = "(no account yet)"
			}
			line := fmt.Sprintf("%s\towner %s", l.Root, owner)
			if len(l.Shared) > 0 {
				line += "\tshared with " + strings.Join(l.Shared, ", ")
			}
			fmt.Println(line)
		}
	}
	return nil
}

// libraryRoot makes path absolute and clean, as --library does. A folder
// being added must exist (scans skip the data folder, as for --library).
func libraryRoot(path string, adding bool) (string, error) {
	root, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("library %q: %w", path, err)
	}
	if !adding {
		return root, nil
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", fmt.Errorf("library %s: %w", root, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("library %s: not a folder", root)
	}
	return root, nil
}

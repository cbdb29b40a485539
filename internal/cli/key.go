package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"shoebox/internal/auth"
	"shoebox/internal/config"
	"shoebox/internal/storage"
)

const keyUsage = `usage:
  shoebox key add --user NAME --scope read|write|metrics
  shoebox key list [--user NAME]
  shoebox key revoke ID`

// key manages API keys. The key is printed once, by add; only its hash is
// stored. A running server learns of a new or revoked key within a second
// (its auth poll).
func key(ctx context.Context, cfg *config.Config, log *slog.Logger, words []string) error {
	if len(words) == 0 {
		return errors.New(keyUsage)
	}
	verb := words[0]
	flags, rest, err := parseWords(words[1:], keyUsage, "user", "scope")
	if err != nil {
		return err
	}
	a, err := func() (*app, error) {
		switch {
		case verb == "add" && len(rest) == 0 && flags["user"] != "" && flags["scope"] != "":
			if err := auth.CheckScope(flags["scope"]); err != nil {
				return nil, err
			}
		case verb == "list" && len(rest) == 0 && flags["scope"] == "":
		case verb == "revoke" && len(rest) == 1 && len(flags) == 0:
		default:
			return nil, errors.New(keyUsage)
		}
		return openApp(ctx, cfg, quietLogger(log), false)
	}()
	if err != nil {
		return err
	}
	defer a.close()
	var userID int64
	if name := flags["user"]; name != "" {
		u, err := a.st.UserByName(ctx, name)
		if err != nil {
			return fmt.Errorf("account %q: %w", name, err)
		}
		userID = u.ID
		if flags["scope"] == "metrics" && !u.Admin {
			return fmt.Errorf("account %q is a member: metrics keys are for admins (the server's figures are theirs)", name)
		}
	}
	switch verb {
	case "add":
		secret, hash := auth.NewAPIKey()
		k, err := a.st.AddAPIKey(ctx, userID, hash, flags["scope"])
		if err != nil {
			return err
		}
		audit(ctx, a, "key-add", k.UserName, fmt.Sprintf("key %d scope %s (command line)", k.ID, k.Scope))
		fmt.Printf("key %d (%s) of %s; shown this once, only its hash is kept:\n%s\n", k.ID, k.Scope, k.UserName, secret)
	case "list":
		keys, err := a.st.APIKeys(ctx, userID)
		if err != nil {
			return err
		}
		for _, k := range keys {
			fmt.Printf("%-6d %-32s %-7s created %s\n", k.ID, k.UserName, k.Scope, k.CreatedAt.Format("2006-01-02 15:04"))
		}
	case "revoke":
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			return fmt.Errorf("key id %q: want the number key list shows", rest[0])
		}
		k, err := a.st.RevokeAPIKey(ctx, 0, id)
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("no key %d (shoebox key list shows them)", id)
		} else if err != nil {
			return err
		}
		audit(ctx, a, "key-revoke", k.UserName, fmt.Sprintf("key %d scope %s (command line)", k.ID, k.Scope))
		fmt.Printf("key %d of %s revoked; running servers refuse it within a second\n", k.ID, k.UserName)
	}
	return nil
}

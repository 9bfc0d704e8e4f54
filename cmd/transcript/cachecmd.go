package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newCacheCmd) }

func newCacheCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Show or clear the result cache",
		Long: `Show or clear the result cache (see docs/caching.md).

The cache directory is --cache-dir, else $CMDT_CACHE_DIR, else cmdt under
the user cache directory.`,
	}
	dir := &cobra.Command{
		Use:   "dir",
		Short: "Print the cache directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openCache(cmd)
			if err != nil {
				return &exitCode{code: 2, err: err}
			}
			fmt.Fprintln(cmd.OutOrStdout(), c.Dir())
			return nil
		},
	}
	var asJSON bool
	stats := &cobra.Command{
		Use:   "stats",
		Short: "Print the number and size of cache entries and of the file-hash memo",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openCache(cmd)
			if err != nil {
				return &exitCode{code: 2, err: err}
			}
			s, err := c.Stats()
			if err != nil {
				return &exitCode{code: 2, err: err}
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			fmt.Fprintf(w, "directory  %s\n", s.Dir)
			if s.Entries >= 0 {
				fmt.Fprintf(w, "entries    %d (%s)\n", s.Entries, cacheSize(s.EntryBytes))
			}
			if !s.Oldest.IsZero() {
				fmt.Fprintf(w, "written    %s … %s\n", s.Oldest.Local().Format(time.DateTime), s.Newest.Local().Format(time.DateTime))
			}
			fmt.Fprintf(w, "hash memo  %d files (%d shards, %s)\n", s.MemoEntries, s.MemoFiles, cacheSize(s.MemoBytes))
			if s.TempFiles > 0 {
				fmt.Fprintf(w, "leftovers  %d temporary files (removed by clean)\n", s.TempFiles)
			}
			return nil
		},
	}
	clean := &cobra.Command{
		Use:   "clean",
		Short: "Remove every cache entry and the file-hash memo",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openCache(cmd)
			if err != nil {
				return &exitCode{code: 2, err: err}
			}
			before, _ := c.Stats()
			if err := c.Clean(); err != nil {
				return &exitCode{code: 2, err: err}
			}
			if before.Entries >= 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "removed %d entries (%s) from %s\n", before.Entries, cacheSize(before.EntryBytes+before.MemoBytes), c.Dir())
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "cleaned %s\n", c.Dir())
			}
			return nil
		},
	}
	stats.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	for _, sub := range []*cobra.Command{dir, stats, clean} {
		var dir, remote string
		var upload bool
		registerCacheFlags(sub, &dir, &remote, &upload)
		cmd.AddCommand(sub)
	}
	return cmd
}

// cacheSize renders a size for people: 512 B, 1.5 KiB, 12.3 MiB.
func cacheSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

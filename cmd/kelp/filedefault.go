package main

import (
	"net/url"
	"os"
	"path/filepath"
)

// fileDefaultHelp says where publish and consume go without a URL.
const fileDefaultHelp = "Without --url and KELP_URL, publish and consume use file://<user cache dir>/kelp/queues\n" +
	"(such as ~/.cache/kelp/queues), a store in files that every kelp process of\n" +
	"the user on this machine shares, so two of them exchange messages with no\n" +
	"broker; demo always runs on memory://.\n"

// defaultFileURL is the URL publish and consume use when none is given:
// the filesystem transport under the user's cache directory.
func defaultFileURL() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", usageErrorf("no broker URL, and no user cache directory for the file:// default (%v): give --url or set %s", err, envURL)
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, "kelp", "queues"))}).String(), nil
}

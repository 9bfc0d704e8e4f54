package engine

import "runtime/debug"

// Version is the tool version. It is part of every cache key, so results
// recorded by another version are never trusted. Release builds set it
// with -ldflags "-X github.com/cmdt-dev/cmdt/engine.Version=...".
var Version = "0.1.0-dev"

// DisplayVersion is the version the binaries print: the module version
// `go install ...@vX.Y.Z` stamped into the build when there is one, else
// Version. The CLI and the language server both print it, so they agree.
func DisplayVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return Version
}

// BuildDetails lists what `version -v` prints besides the version, as
// label/value pairs in a fixed order: the Go toolchain, the platform, and
// the source revision the binary was built from when the build recorded it.
func BuildDetails() [][2]string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	out := [][2]string{{"go", bi.GoVersion}}
	var goos, goarch, rev, modified, when string
	for _, s := range bi.Settings {
		switch s.Key {
		case "GOOS":
			goos = s.Value
		case "GOARCH":
			goarch = s.Value
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		case "vcs.time":
			when = s.Value
		}
	}
	if goos != "" {
		out = append(out, [2]string{"platform", goos + "/" + goarch})
	}
	out = append(out, [2]string{"module", bi.Main.Path + " " + bi.Main.Version})
	if rev != "" {
		if modified == "true" {
			rev += " (modified)"
		}
		if when != "" {
			rev += " " + when
		}
		out = append(out, [2]string{"revision", rev})
	}
	return out
}

package engine

// Version is the tool version. It is part of every cache key, so results
// recorded by another version are never trusted. Release builds set it
// with -ldflags "-X github.com/cmdt-dev/cmdt/engine.Version=...".
var Version = "0.1.0-dev"

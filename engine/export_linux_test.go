package engine

// ProcScans is how many times the engine has read every process in /proc.
func ProcScans() int64 { return procScans.Load() }

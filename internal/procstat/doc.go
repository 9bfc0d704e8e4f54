// Package procstat reads what cmdt needs of a Linux process from
// /proc/PID/stat: its state, parent, process group and session. The engine
// uses it to find and kill what a transcript left running; the tracer's
// user-notification backend to tell whether a command's tree still runs.
package procstat

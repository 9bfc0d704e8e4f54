package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cmdt-dev/cmdt/engine/trace"
)

func newDoctorCmd() *cobra.Command {
	setting := "auto"
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Say which tracer observes the files programs read here, and why",
		Long: `Say which tracer observes the files programs read here, and why.

eBPF is used where this process may load BPF programs (root, or CAP_BPF and
CAP_PERFMON) and they load; else ptrace with a seccomp filter; else programs
run untraced and what they read is not observed. Each backend is tried here,
now: this loads the BPF programs and runs the ptrace probe.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			b, err := trace.SelectBackend(setting)
			if err != nil {
				return usageError("%v", err)
			}
			fmt.Fprintf(out, "tracing (--trace=%s): %s\n", setting, b)
			for _, m := range []struct {
				name string
				mode trace.Mode
			}{{"ebpf", trace.ModeEBPF}, {"ptrace", trace.ModeSeccomp}, {"unotify", trace.ModeUnotify}} {
				status := "available"
				if err := trace.AvailableMode(m.mode); err != nil {
					status = "unavailable: " + err.Error()
				}
				fmt.Fprintf(out, "  %-8s %s\n", m.name+":", status)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&setting, "trace", "auto", "the setting to explain: "+trace.Settings)
	return cmd
}

package trace

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	helpers["access"] = func(args []string) error {
		n, _ := strconv.Atoi(args[0])
		for range n {
			unix.Access(args[1], unix.F_OK)
		}
		return nil
	}
}

func TestMicro(t *testing.T) {
	const n = 20000
	for _, path := range []string{"/nonexistent/x", "rel-missing"} {
		for _, m := range []Options{{Mode: ModeSeccomp}} {
			var base, tr []time.Duration
			for r := 0; r < 9; r++ {
				cmd := helperCmd(t, "access", strconv.Itoa(n), path)
				s := time.Now()
				cmd.Run()
				base = append(base, time.Since(s))
				cmd = helperCmd(t, "access", strconv.Itoa(n), path)
				s = time.Now()
				p, _ := Start(cmd, m)
				p.Wait()
				tr = append(tr, time.Since(s))
			}
			slices.Sort(base)
			slices.Sort(tr)
			t.Logf("%s %v: overhead %v/call", path, m.Mode, (tr[4]-base[4])/n)
		}
	}
}

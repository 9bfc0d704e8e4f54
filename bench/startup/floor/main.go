// Command floor is the start-up floor bench/startup compares transcript
// with: a minimal Go program that runs /bin/true with os/exec and exits.
package main

import (
	"os"
	"os/exec"
)

func main() {
	if err := exec.Command("/bin/true").Run(); err != nil {
		os.Exit(1)
	}
}

// Command foo stands for a slow program under test: it "works" for about
// five seconds, then prints its answer.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	time.Sleep(work()) // the slow part
	fmt.Println("foo: 42 widgets")
}

// work is how long the program "works": 5 s, or $DEMO_SECONDS (the
// project's test run shortens it).
func work() time.Duration {
	if s, err := strconv.ParseFloat(os.Getenv("DEMO_SECONDS"), 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	return 5 * time.Second
}

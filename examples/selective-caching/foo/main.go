// Command foo stands for a slow program under test: it "works" for about
// five seconds, then prints its answer.
package main

import (
	"fmt"
	"time"
)

func main() {
	time.Sleep(5 * time.Second) // the slow part
	fmt.Println("foo: 42 widgets")
}

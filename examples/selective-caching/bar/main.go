// Command bar stands for another slow program, independent of foo.
package main

import (
	"fmt"
	"time"
)

func main() {
	time.Sleep(5 * time.Second) // the slow part
	fmt.Println("bar: 7 gadgets")
}

package main

import "fmt"

func main() { fmt.Println("hello from go run") }

// The same-size edit flips a letter of this comment.

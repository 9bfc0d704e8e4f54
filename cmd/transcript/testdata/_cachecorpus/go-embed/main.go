package main

import (
	_ "embed"
	"fmt"
)

//go:embed msg.txt
var msg string

func main() { fmt.Print(msg) }

#!/bin/sh
# A tiny program under test: greets its arguments, complains without any.
if [ $# -eq 0 ]; then
	echo "usage: greet NAME..." >&2
	exit 2
fi
for name in "$@"; do
	printf 'hello, %s\n' "$name"
done

#!/bin/sh
test -n "$1" && echo "baseline clean"

#!/bin/sh
exec python3 "$(dirname "$0")/create_issue_branch.py" "$@"

import sys

from _paths import issue, write

selected = issue(sys.argv[1])
number = selected.get("number") or selected.get("issue_number")
write(sys.argv[2], {"branch": f"issue-{number}", "issue_number": number, "base": "main"})
print(f"branch issue-{number}")

import sys

from _paths import issue, write

write(sys.argv[3], {"issue_number": issue(sys.argv[1]).get("number"), "branch": issue(sys.argv[2])["branch"],
                    "status": "implemented"})

import sys

from _paths import write

write(sys.argv[3], {"status": "no_review", "waited_secs": 0})
write(sys.argv[4], "No actionable CodeRabbit feedback.\n")

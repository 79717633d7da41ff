import sys

from _paths import find

print("branch file:", find(sys.argv[1]))

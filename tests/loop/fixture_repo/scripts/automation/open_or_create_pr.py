import sys

from _paths import issue

print("PR for", issue(sys.argv[2])["branch"], "->", sys.argv[3])

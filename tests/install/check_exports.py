#!/usr/bin/env python3
"""The shared library exports exactly the functions the public headers declare
with SL_API: nothing internal leaks, nothing documented is missing."""
import pathlib
import re
import subprocess
import sys

# The headers: a directory (every *.h in it) or the installed headers' list.
lib, args = sys.argv[1], [pathlib.Path(a) for a in sys.argv[2:]]
headers = sorted(args[0].glob("*.h")) if len(args) == 1 and args[0].is_dir() else args
declared = set()
for h in headers:
    text = re.sub(r"/\*.*?\*/", "", h.read_text(), flags=re.S)
    for m in re.finditer(r"\bSL_API\b([^;{]*?)\b(sl_\w+)\s*\(", text):
        declared.add(m.group(2))
out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                     capture_output=True, text=True).stdout
exported = {parts[2] for parts in (l.split() for l in out.splitlines())
            if len(parts) == 3 and parts[1] in "TDBRWV" and not parts[2].startswith("_")}
exported = {s.split("@")[0] for s in exported}
ok = True
for name in sorted(exported - declared):
    print(f"exported but not declared with SL_API: {name}")
    ok = False
for name in sorted(declared - exported):
    print(f"declared with SL_API but not exported: {name}")
    ok = False
print(f"exports: {len(declared)} declared, {len(exported)} exported")
sys.exit(0 if ok and declared else 1)

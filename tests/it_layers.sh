#!/usr/bin/env bash
# it_layers.sh - the source tree's layering (docs/design.md, "Source tree"): a folder of
# userspace/ includes only from itself and the folders before it in LAYERS, and no file includes
# another folder's *_internal.h. Fails naming every include that breaks a rule.
set -u
cd "$(dirname "$0")/.."
LAYERS=(util decode control session flow microcloud xdp pipeline input live cli)
declare -A rank
for i in "${!LAYERS[@]}"; do rank[${LAYERS[$i]}]=$i; done
bad=0
checked=0
for dir in userspace/*/; do
	d=$(basename "$dir")
	if [ -z "${rank[$d]+x}" ]; then
		echo "FAIL: userspace/$d/ is not in the layer list (tests/it_layers.sh, docs/design.md)"
		bad=$((bad + 1))
		continue
	fi
	while IFS=: read -r file line inc; do
		to=${inc%%/*}
		checked=$((checked + 1))
		if [ -z "${rank[$to]+x}" ]; then
			echo "FAIL: $file:$line includes \"$inc\" from an unknown folder"
			bad=$((bad + 1))
		elif [ "${rank[$to]}" -gt "${rank[$d]}" ]; then
			echo "FAIL: $file:$line: $d/ includes \"$inc\" from a later stage ($to/)"
			bad=$((bad + 1))
		elif [ "$to" != "$d" ] && [[ $inc == *_internal.h ]]; then
			echo "FAIL: $file:$line: $d/ includes another stage's internals \"$inc\""
			bad=$((bad + 1))
		fi
	done < <(grep -HnoE '#include "[a-z_]+/[a-z0-9_]+\.h"' "$dir"*.[ch] |
		sed -E 's|^([^:]+):([0-9]+):#include "([^"]+)"|\1:\2:\3|')
done
# Tools use public headers only.
while IFS= read -r hit; do
	echo "FAIL: $hit: a tool includes a stage's internals"
	bad=$((bad + 1))
done < <(grep -HnE '#include "[a-z_]+/[a-z0-9_]+_internal\.h"' tools/*.c)
[ "$checked" -gt 50 ] || { echo "FAIL: only $checked includes found: is the tree there?"; exit 1; }
echo "it_layers: $checked includes checked, $bad broken"
[ "$bad" -eq 0 ]

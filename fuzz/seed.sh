#!/bin/sh
# Fills fuzz/corpus/<target>/ with the hand-written seeds of fuzz/seeds/ and
# seeds made from sample-data/. The corpora are not kept in git; run this
# once before fuzzing, and again after sample-data/ or seeds/ change.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data="$here/../sample-data"
for t in decode ingest_file scan timestamp; do
    mkdir -p "$here/corpus/$t"
    cp "$here/seeds/$t"/* "$here/corpus/$t/"
done

n=0
find "$data" -type f \( -name '*.json' -o -name '*.ndjson' -o -name '*.jsonl' -o -name '*.gz' \) |
    sort |
    while read -r f; do
        n=$((n + 1))
        name="sample-$n-$(basename "$f" | tr -c 'A-Za-z0-9.\n-' '_')"
        case "$f" in
        *.gz)
            # decode: the text as the source hands it over; ingest_file: the
            # gzip file as it is (flag 0), and its text gzipped by the
            # target (flag 1).
            { printf '\000'; gzip -dc "$f"; } >"$here/corpus/decode/$name"
            { printf '\000'; cat "$f"; } >"$here/corpus/ingest_file/$name"
            { printf '\001'; gzip -dc "$f"; } >"$here/corpus/ingest_file/$name.text"
            gzip -dc "$f" >"$here/corpus/timestamp/.text"
            gzip -dc "$f" >"$here/corpus/scan/$name"
            ;;
        *)
            { printf '\000'; cat "$f"; } >"$here/corpus/decode/$name"
            # flag 2: as a devices/<id>.json file.
            { printf '\002'; cat "$f"; } >"$here/corpus/ingest_file/$name"
            cp "$f" "$here/corpus/timestamp/.text"
            cp "$f" "$here/corpus/scan/$name"
            # scan: every NDJSON line on its own too.
            case "$f" in
            *.ndjson | *.jsonl) split -l 1 -a 4 "$f" "$here/corpus/scan/$name.line-" ;;
            esac
            ;;
        esac
        # Every distinct timestamp text, one per file.
        grep -aoE '"[A-Za-z]*[Dd]ate_?[Tt]ime"[[:space:]]*:[[:space:]]*"[^"]*"' \
            "$here/corpus/timestamp/.text" |
            sed -E 's/^[^:]*:[[:space:]]*"//; s/"$//' |
            sort -u |
            while read -r ts; do
                key=$(printf '%s' "$ts" | cksum | cut -d' ' -f1)
                printf '%s' "$ts" >"$here/corpus/timestamp/sample-$key"
            done
        rm -f "$here/corpus/timestamp/.text"
    done

for t in decode ingest_file scan timestamp; do
    echo "corpus/$t: $(find "$here/corpus/$t" -type f | wc -l) files"
done

#!/usr/bin/env bash
# Renders the HTML report of sample-data/ in headless Chromium and checks that
# its three charts are drawn: each chart's SVG has a non-zero size on the page
# and holds visible shapes (bars, lines, points) and text. Then saves a
# screenshot of the report (docs/report.png by default) and checks that it is
# not blank.
#
#   tests/html/check_report.sh [--data PATH] [--screenshot FILE] [--keep DIR]
#
# Needs: chromium (Debian: apt-get install -y chromium), python3, cargo.
# FLEETOPS=/path/to/fleetops uses that binary instead of `cargo run`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
data="$root/sample-data"
shot="$root/docs/report.png"
keep=""
while [ $# -gt 0 ]; do
    case "$1" in
        --data) data="$2"; shift 2 ;;
        --screenshot) shot="$2"; shift 2 ;;
        --keep) keep="$2"; shift 2 ;;
        *) echo "usage: $0 [--data PATH] [--screenshot FILE] [--keep DIR]" >&2; exit 2 ;;
    esac
done

chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [ -z "$chromium" ]; then
    echo "check_report: chromium not found (apt-get install -y chromium)" >&2
    exit 2
fi

work="$(mktemp -d)"
profile="$(mktemp -d)"
cleanup() {
    rm -rf "$profile"
    if [ -n "$keep" ]; then
        mkdir -p "$keep" && cp -r "$work"/. "$keep"/
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# 1. The report.
if [ -n "${FLEETOPS:-}" ]; then
    "$FLEETOPS" report --data "$data" --format html --output "$work/report.html"
else
    (cd "$root" && cargo run --quiet --bin fleetops -- \
        report --data "$data" --format html --output "$work/report.html")
fi

browser() {
    timeout 120 "$chromium" --headless --no-sandbox --disable-gpu \
        --disable-background-networking --disable-component-update --no-first-run \
        --user-data-dir="$profile" --hide-scrollbars --force-device-scale-factor=1 \
        "$@" 2>/dev/null
}

# 2. Measure the charts in the browser: a copy of the report with a script
#    that writes every chart's box and its visible shapes into the page.
python3 - "$work/report.html" "$work/measure.html" <<'EOF'
import sys
html = open(sys.argv[1], encoding="utf-8").read()
script = r"""
<script>
(function () {
  const out = [];
  for (const fig of document.querySelectorAll("figure.chart")) {
    const svg = fig.querySelector("svg");
    const r = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    // Marks: filled bars, points, and data lines (grid lines and ticks are 1 px wide).
    let marks = 0, texts = 0;
    if (svg) {
      for (const el of svg.querySelectorAll("rect, circle, polyline, path, polygon")) {
        const b = el.getBBox();
        const fill = (el.getAttribute("fill") || "none").toLowerCase();
        const width = parseFloat(el.getAttribute("stroke-width") || "1");
        const stroke = (el.getAttribute("stroke") || "none").toLowerCase();
        const filled = fill !== "none" && fill !== "#ffffff" && b.width > 0 && b.height > 0;
        const line = stroke !== "none" && width >= 2 && (b.width > 0 || b.height > 0);
        if (filled || line) marks++;
      }
      for (const t of svg.querySelectorAll("text")) {
        const b = t.getBBox();
        if (b.width > 0 && b.height > 0 && t.textContent.trim()) texts++;
      }
    }
    out.push({id: fig.id, width: r.width, height: r.height, marks: marks, texts: texts});
  }
  const pre = document.createElement("pre");
  pre.id = "chart-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""
open(sys.argv[2], "w", encoding="utf-8").write(html.replace("</body>", script + "</body>"))
EOF

browser --window-size=1200,2000 --dump-dom "file://$work/measure.html" >"$work/dom.html"

python3 - "$work/dom.html" <<'EOF'
import html, json, re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<pre id="chart-check">(.*?)</pre>', dom, re.S)
if not m:
    sys.exit("check_report: the measuring script did not run")
charts = json.loads(html.unescape(m.group(1)))
want = {"chart-failure-by-type", "chart-daily-failure-rate", "chart-durations"}
found = {c["id"] for c in charts}
problems = []
if found != want:
    problems.append(f"charts found {sorted(found)}, want {sorted(want)}")
for c in charts:
    print(f"check_report: {c['id']}: {c['width']:.0f}x{c['height']:.0f} px, "
          f"{c['marks']} marks, {c['texts']} labels")
    if c["width"] < 100 or c["height"] < 100:
        problems.append(f"{c['id']} is {c['width']}x{c['height']} px")
    if c["marks"] < 3:
        problems.append(f"{c['id']} has {c['marks']} visible marks")
    if c["texts"] < 3:
        problems.append(f"{c['id']} has {c['texts']} visible labels")
if problems:
    sys.exit("check_report: FAILED: " + "; ".join(problems))
EOF

# 3. The screenshot, of the report as users get it.
mkdir -p "$(dirname "$shot")"
browser --window-size=1100,1900 --run-all-compositor-stages-before-draw \
    --virtual-time-budget=3000 --screenshot="$work/report.png" "file://$work/report.html" >/dev/null

python3 - "$work/report.png" <<'EOF'
# A PNG decoder in the standard library: counts the colours and the share of
# pixels that are not background, so a blank or failed render is caught.
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("check_report: the screenshot is not a PNG")
pos, idat, width = 8, b"", 0
while pos < len(data):
    (n,) = struct.unpack(">I", data[pos:pos + 4])
    kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        if depth != 8 or ctype not in (2, 6) or interlace:
            sys.exit(f"check_report: unexpected PNG format depth={depth} type={ctype}")
        bpp = 4 if ctype == 6 else 3
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = width * bpp
prev = bytearray(stride)
colours, ink, total = set(), 0, 0
i = 0
for _ in range(height):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp * 4):  # every 4th pixel is enough
        px = bytes(line[x:x + 3])
        colours.add(px)
        total += 1
        if min(px) < 200:
            ink += 1
    prev = line
share = ink / max(total, 1)
print(f"check_report: screenshot {width}x{height}, {len(colours)} colours, {share:.1%} ink")
if len(colours) < 20 or share < 0.02:
    sys.exit("check_report: FAILED: the screenshot looks blank")
EOF

cp "$work/report.png" "$shot"
echo "check_report: ok; screenshot saved to $shot"

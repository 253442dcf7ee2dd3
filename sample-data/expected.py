#!/usr/bin/env python3
"""Independent checker for sample-data/.

Reads every export file under a folder by the rules of the fleetops input
contract (shapes, device ids, normalisation, dedup, rejects) using only the
Python standard library, and prints what a correct ingest must report.

    python3 sample-data/expected.py                # full report
    python3 sample-data/expected.py --json         # the `ingest --json` line only
    python3 sample-data/expected.py --rows         # the deduplicated rows as NDJSON
    python3 sample-data/expected.py path/to/exports

Only files named *.json, *.ndjson, *.jsonl (optionally .gz) are data; this
script and README.md are not. Files are read in sorted path order.
"""

import gzip
import json
import os
import re
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

DATA_SUFFIXES = (".json", ".ndjson", ".jsonl")
TIME_FIELDS = ("createddatetime", "starteddatetime", "completeddatetime", "lastactiondatetime")
STATUSES = {
    "queued": "queued",
    "scheduled": "scheduled",
    "inprogress": "inProgress",
    "successful": "successful",
    "succeeded": "successful",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "failed": "failed",
}
IN_FLIGHT = {"queued", "scheduled", "inProgress"}
UNSET = "0001-01-01T00:00:00Z"
TS = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2})([:-])(\d{2})\5(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$",
    re.IGNORECASE,
)
URL_DEVICE = (
    re.compile(r"devices\('([^']+)'\)/operations"),
    re.compile(r"devices/([^/?#'()]+)/operations"),
)
LABELS = {
    "5c1d8b2e-3f4a-4b6c-9d7e-0a1b2c3d4e5f": "Board room (Teams Rooms on Windows)",
    "8e2f0a91-6b7c-4d3e-a1f2-93b4c5d6e7f8": "Huddle 3.12 (Teams Rooms on Android)",
    "0b7a4c63-2d1e-4f59-8a6b-7c8d9e0f1a2b": "Training room (Teams Rooms on Windows)",
    "c4d5e6f7-1a2b-4c3d-9e8f-5a6b7c8d9e0f": "Reception phone",
    "71e3a9d4-5b2c-4e8f-b6a7-2c3d4e5f6a7b": "Executive office phone",
    "2a9f6e1d-7c3b-4a58-9e4d-6f5a4b3c2d1e": "Board room panel",
    "d93b2c4e-8f1a-4b7d-a2c3-4e5f6a7b8c9d": "Lobby display",
    "46c8e1f2-9a3b-4d5c-8e7f-1a2b3c4d5e6f": "Focus room collaboration bar",
    "e58a7b6c-4d3e-4f2a-9b1c-0d9e8f7a6b5c": "New display",
}


class Reject(Exception):
    def __init__(self, reason, detail=""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def is_data_file(name):
    n = name.lower()
    if n.endswith(".gz"):
        n = n[:-3]
    return n.endswith(DATA_SUFFIXES)


def data_files(root):
    if os.path.isfile(root):
        return [root]
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        out.extend(os.path.join(dirpath, f) for f in filenames if is_data_file(f))
    return sorted(out)


def read_text(path):
    with open(path, "rb") as f:
        raw = f.read()
    if path.lower().endswith(".gz"):
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8")
    return text[1:] if text.startswith("\ufeff") else text


def get(obj, key):
    """Case-insensitive property lookup (PowerShell writes PascalCase)."""
    for k, v in obj.items():
        if k.lower() == key:
            return v
    return None


def url_device(url):
    if not isinstance(url, str):
        return None
    for pat in URL_DEVICE:
        m = pat.search(url)
        if m:
            return m.group(1)
    return None


def path_device(path):
    parts = path.replace("\\", "/").split("/")
    for seg in parts[:-1]:
        if seg.startswith("device_id=") and len(seg) > len("device_id="):
            return seg[len("device_id=") :]
    if len(parts) >= 2 and parts[-2] == "devices":
        name = parts[-1]
        if name.lower().endswith(".gz"):
            name = name[:-3]
        for suf in DATA_SUFFIXES:
            if name.lower().endswith(suf):
                return name[: -len(suf)]
    return None


def shape(text):
    """The contract's name for a file's shape (for the report only)."""
    if not text.strip():
        return "empty"
    try:
        whole = json.loads(text)
    except ValueError:
        return "NDJSON (CRLF)" if "\r\n" in text else "NDJSON"
    if isinstance(whole, list):
        keys = [k for v in whole if isinstance(v, dict) for k in v]
        return "JSON array (PascalCase)" if keys and all(k[:1].isupper() or k[:1] == "@" for k in keys) else "JSON array"
    if not isinstance(whole, dict):
        return "scalar"
    if isinstance(get(whole, "responses"), list):
        return "$batch response"
    value = get(whole, "value")
    if isinstance(value, list):
        return "list page" + (" (@odata.context)" if get(whole, "@odata.context") else " (nextLink only)" if get(whole, "@odata.nextlink") else "")
    if isinstance(value, dict):
        return "single entity {value: op}"
    return "bare op"


def raw_records(path, text):
    """Yield (locator, value-or-Reject, device_from_container) for one file."""
    if not text.strip():
        return
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
        ndjson = True
    else:
        ndjson = False
    if ndjson:
        for n, line in enumerate(text.split("\n"), start=1):
            line = line.rstrip("\r")
            if not line.strip():
                continue
            try:
                yield ("line", n), json.loads(line), None
            except ValueError as e:
                yield ("line", n), Reject("malformed_json", str(e)), None
        return
    if isinstance(whole, list):
        for i, v in enumerate(whole):
            yield ("index", i), v, None
        return
    if not isinstance(whole, dict):
        yield ("index", 0), whole, None
        return
    responses = get(whole, "responses")
    value = get(whole, "value")
    if isinstance(responses, list):
        k = 0
        for resp in responses:
            body = get(resp, "body") if isinstance(resp, dict) else None
            vals = get(body, "value") if isinstance(body, dict) else None
            if not isinstance(vals, list):
                continue  # e.g. a 404 for a retired device: no records
            dev = url_device(get(body, "@odata.context")) or url_device(get(body, "@odata.nextlink"))
            if dev is None:
                rid = get(resp, "id")
                dev = url_device(get(resp, "url"))
                if dev is None and isinstance(rid, str):
                    m = re.match(r"^(.+)-operations$", rid)
                    dev = m.group(1) if m else None
            for v in vals:
                yield ("index", k), v, dev
                k += 1
    elif isinstance(value, list):
        dev = url_device(get(whole, "@odata.context")) or url_device(get(whole, "@odata.nextlink"))
        for i, v in enumerate(value):
            yield ("index", i), v, dev
    elif isinstance(value, dict):
        yield ("index", 0), value, url_device(get(whole, "@odata.context"))
    else:
        yield ("index", 0), whole, url_device(get(whole, "@odata.context"))


def parse_ts(v):
    """-> (microseconds since epoch in UTC or None, repaired?)"""
    if v is None or v == "" or v == UNSET:
        return None, False
    if not isinstance(v, str):
        raise Reject("bad_timestamp", repr(v))
    m = TS.match(v)
    if not m:
        raise Reject("bad_timestamp", v)
    y, mo, d, hh, sep, mi, ss, frac, zone = m.groups()
    try:
        dt = datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss), tzinfo=timezone.utc)
    except ValueError:
        raise Reject("bad_timestamp", v)
    if zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        dt -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    if dt.year == 1:
        return None, sep == "-"
    us = int((dt - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1))
    if frac:
        us += int((frac + "000000000")[:9]) // 1000  # truncated to microseconds
    return us, sep == "-"


def identity(ident_set):
    if not isinstance(ident_set, dict):
        return None
    out = {}
    for kind in ("user", "application", "device"):
        v = get(ident_set, kind)
        out[kind] = (
            {"id": get(v, "id"), "display_name": get(v, "displayname")} if isinstance(v, dict) else None
        )
    return out


def normalise(value, container_dev, path):
    """-> (row dict, repaired count) or raise Reject."""
    if isinstance(value, Reject):
        raise value
    if not isinstance(value, dict):
        raise Reject("not_object", json.dumps(value)[:40])
    op_id = get(value, "id")
    if op_id is None or op_id == "":
        raise Reject("missing_id")
    times = {}
    repaired = 0
    for f in TIME_FIELDS:
        t, rep = parse_ts(get(value, f))
        times[f] = t
        repaired += rep
    status_raw = get(value, "status")
    status = STATUSES.get(status_raw.lower(), status_raw) if isinstance(status_raw, str) else status_raw
    dev = get(value, "deviceid") or get(value, "teamworkdeviceid") or container_dev or path_device(path)
    err = get(value, "error")
    row = {
        "id": str(op_id),
        "device_id": dev,
        "operation_type": get(value, "operationtype"),
        "status": status,
        "status_raw": status_raw,
        "created_date_time": times["createddatetime"],
        "started_date_time": times["starteddatetime"],
        "completed_date_time": times["completeddatetime"],
        "last_action_date_time": times["lastactiondatetime"],
        "error": {"code": get(err, "code"), "message": get(err, "message")} if isinstance(err, dict) else None,
        "created_by": identity(get(value, "createdby")),
        "last_action_by": identity(get(value, "lastactionby")),
    }
    return row, repaired


def percentile(sorted_vals, p):
    """Exact percentile, linear interpolation between ranks (rank = p * (n - 1))."""
    if not sorted_vals:
        return None
    r = p * (len(sorted_vals) - 1)
    lo = int(r)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (r - lo)


def seconds(a, b):
    if a is None or b is None or b < a:
        return None
    return (b - a) / 1e6


def iso(us):
    if us is None:
        return None
    dt = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=us)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def analyse(root):
    files = data_files(root)
    records = 0
    repaired = 0
    rejects = []
    accepted = []  # (order, row)
    quirks = Counter()
    per_file = []
    for path in files:
        rel = os.path.relpath(path, root) if os.path.isdir(root) else path
        with open(path, "rb") as f:
            head = f.read(3)
        gz = path.lower().endswith(".gz")
        text = read_text(path)
        bom = head == b"\xef\xbb\xbf" or (gz and gzip.decompress(open(path, "rb").read())[:3] == b"\xef\xbb\xbf")
        info = {"file": rel, "shape": shape(text) + (", gzip" if gz else "") + (", BOM" if bom else ""), "records": 0, "rejected": 0}
        per_file.append(info)
        for (kind, pos), value, dev in raw_records(rel, text):
            records += 1
            info["records"] += 1
            try:
                row, rep = normalise(value, dev, rel)
            except Reject as r:
                rejects.append({"file": rel, kind: pos, "reason": r.reason, "detail": r.detail})
                info["rejected"] += 1
                continue
            repaired += 1 if rep else 0
            if isinstance(row["status_raw"], str) and row["status_raw"] in ("succeeded", "canceled"):
                quirks["status alias (succeeded/canceled)"] += 1
            if isinstance(row["status_raw"], str) and row["status_raw"][:1].isupper():
                quirks["PascalCase status"] += 1
            if row["device_id"] is None:
                quirks["record without any device id"] += 1
            vals = [get(value, f) for f in TIME_FIELDS]
            if UNSET in vals:
                quirks["0001-01-01T00:00:00Z unset value"] += 1
            if any(isinstance(v, str) and re.search(r"[+-]\d\d:\d\d$", v) for v in vals):
                quirks["timestamps with a UTC offset"] += 1
            accepted.append((len(accepted), row))

    # Dedup: latest last_action_date_time wins, ties go to the record read last;
    # a known device id is never replaced by NULL.
    groups = defaultdict(list)
    for order, row in accepted:
        groups[row["id"]].append((order, row))
    rows = {}
    tie_problems = []
    dup_kinds = Counter()
    for op_id, recs in groups.items():
        key = lambda item: (item[1]["last_action_date_time"] is not None, item[1]["last_action_date_time"] or 0, item[0])
        recs.sort(key=key)
        winner = dict(recs[-1][1])
        top = [r for _, r in recs if r["last_action_date_time"] == winner["last_action_date_time"]]
        strip = lambda r: {k: v for k, v in r.items() if k not in ("device_id", "status_raw")}
        if any(strip(r) != strip(winner) for r in top):
            tie_problems.append(op_id)
        for _, r in recs[:-1]:
            if strip(r) == strip(winner):
                dup_kinds["exact re-export (same content)"] += 1
            elif r["status"] != winner["status"]:
                dup_kinds["older snapshot, status since progressed"] += 1
            else:
                dup_kinds["older snapshot, same status"] += 1
        if winner["device_id"] is None:
            for _, r in reversed(recs):
                if r["device_id"] is not None:
                    winner["device_id"] = r["device_id"]
                    break
        rows[op_id] = winner
    return {
        "files": files,
        "per_file": per_file,
        "records": records,
        "rows": rows,
        "duplicates": len(accepted) - len(rows),
        "rejects": rejects,
        "repaired": repaired,
        "quirks": quirks,
        "tie_problems": tie_problems,
        "dup_kinds": dup_kinds,
    }


def fmt(v, nd=1):
    if v is None:
        return "NULL"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def report(a):
    rows = list(a["rows"].values())
    summary = {
        "files": len(a["files"]),
        "records": a["records"],
        "rows": len(rows),
        "duplicates": a["duplicates"],
        "rejected": len(a["rejects"]),
        "repaired": a["repaired"],
    }
    print("## Ingest totals (`fleetops ingest sample-data --out DIR --json`)\n")
    print(json.dumps(summary, separators=(",", ":")))
    ok = summary["records"] == summary["rows"] + summary["duplicates"] + summary["rejected"]
    print(f"\nrecords = rows + duplicates + rejected: {'yes' if ok else 'NO'}")
    print(f"ties on last_action_date_time with differing content: {len(a['tie_problems'])}")
    print("\n## Duplicates collapsed\n")
    print(table(["kind", "records"], sorted(a["dup_kinds"].items())))

    print("\n## Files\n")
    print(table(["file", "shape", "records", "rejected"], [[f["file"], f["shape"], f["records"], f["rejected"]] for f in a["per_file"]]))

    print("\n## Rejects by reason\n")
    print(table(["reason", "count"], sorted(Counter(r["reason"] for r in a["rejects"]).items())))
    print()
    for r in a["rejects"]:
        where = f"line {r['line']}" if "line" in r else f"index {r['index']}"
        print(f"- {r['file']} {where}: {r['reason']}{' (' + r['detail'][:60] + ')' if r['detail'] else ''}")

    print("\n## Quirks accepted (records read, before dedup)\n")
    q = dict(a["quirks"])
    q["hyphenated time repaired (records)"] = a["repaired"]
    print(table(["quirk", "records"], sorted(q.items())))

    print("\n## Rows by status\n")
    print(table(["status", "rows"], sorted(Counter(r["status"] for r in rows).items())))

    print("\n## Rows by device\n")
    by_dev = defaultdict(list)
    for r in rows:
        by_dev[r["device_id"]].append(r)
    drows = []
    for dev, rs in sorted(by_dev.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
        c = Counter(r["status"] for r in rs)
        denom = c["successful"] + c["failed"]
        drows.append(
            [
                dev or "NULL",
                LABELS.get(dev, ""),
                len(rs),
                c["failed"],
                fmt(c["failed"] / denom if denom else None, 3),
                sum(c[s] for s in IN_FLIGHT),
            ]
        )
    print(table(["device_id", "device", "rows", "failed", "failure_rate", "in_flight"], drows))

    print("\n## operation_type_stats()\n")
    by_type = defaultdict(list)
    for r in rows:
        by_type[r["operation_type"]].append(r)
    trows = []
    for t, rs in sorted(by_type.items()):
        c = Counter(r["status"] for r in rs)
        denom = c["successful"] + c["failed"]
        durs = sorted(d for d in (seconds(r["started_date_time"], r["completed_date_time"]) for r in rs) if d is not None)
        queues = [q for q in (seconds(r["created_date_time"], r["started_date_time"]) for r in rs) if q is not None]
        trows.append(
            [
                t,
                len(rs),
                c["successful"],
                c["failed"],
                c["cancelled"],
                sum(c[s] for s in IN_FLIGHT),
                fmt(c["failed"] / denom if denom else None, 4),
                fmt(percentile(durs, 0.5), 3),
                fmt(percentile(durs, 0.95), 3),
                fmt(sum(queues) / len(queues) if queues else None, 3),
            ]
        )
    print(
        table(
            ["operation_type", "operations", "successful", "failed", "cancelled", "in_flight",
             "failure_rate", "p50_duration_s", "p95_duration_s", "mean_queue_s"],
            trows,
        )
    )

    print("\n## Still in flight\n")
    fl = sorted((r for r in rows if r["status"] in IN_FLIGHT), key=lambda r: r["created_date_time"] or 0)
    print(
        table(
            ["id", "device", "operation_type", "status", "created", "started"],
            [
                [r["id"], LABELS.get(r["device_id"], r["device_id"]), r["operation_type"], r["status"],
                 iso(r["created_date_time"]), iso(r["started_date_time"]) or "NULL"]
                for r in fl
            ],
        )
    )

    print("\n## Who started the operations (created_by)\n")
    who = Counter()
    for r in rows:
        cb = r["created_by"] or {}
        ident = cb.get("user") or cb.get("application") or {}
        who[ident.get("display_name") or "NULL"] += 1
    print(table(["created_by", "rows"], who.most_common()))

    times = [r["created_date_time"] for r in rows if r["created_date_time"] is not None]
    print(f"\ncreated_date_time from {iso(min(times))} to {iso(max(times))}")
    return summary


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    root = args[0] if args else os.path.dirname(os.path.abspath(__file__))
    a = analyse(root)
    if "--json" in argv:
        rows = a["rows"]
        print(json.dumps({
            "files": len(a["files"]),
            "records": a["records"],
            "rows": len(rows),
            "duplicates": a["duplicates"],
            "rejected": len(a["rejects"]),
            "repaired": a["repaired"],
        }, separators=(",", ":")))
    elif "--rows" in argv:
        for op_id in sorted(a["rows"]):
            row = dict(a["rows"][op_id])
            for k in ("created_date_time", "started_date_time", "completed_date_time", "last_action_date_time"):
                row[k] = iso(row[k])
            print(json.dumps(row, separators=(",", ":")))
    else:
        report(a)
    return 0 if not a["tie_problems"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

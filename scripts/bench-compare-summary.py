#!/usr/bin/env python3
# Medians per (tag, build) of bench12.sh's JSON lines.
import json, sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith('{'): continue
    try: j = json.loads(line)
    except Exception: continue
    rows.setdefault((j['tag'], j['build']), []).append(j)
def med(v): 
    v = [x for x in v if x is not None]
    return st.median(v) if v else None
order = ['max','rate100','rate500','rate2000','groupmax','group20','population','reconnect']
for tag in order:
    for b in ['base12','new12']:
        rs = rows.get((tag,b))
        if not rs: continue
        rate = med([r.get('delivered_per_s', r.get('deliveries_per_s')) for r in rs])
        out = f"{tag:9s} {b:7s} n={len(rs)} rate={rate} p50={med([r.get('p50_ms') for r in rs])} p99={med([r.get('p99_ms') for r in rs])} p999={med([r.get('p999_ms') for r in rs])}"
        out += f" fin={med([r.get('frames_in_per_msg') for r in rs])} fout={med([r.get('frames_out_per_msg') for r in rs])} sys={med([r.get('syscalls_per_msg') for r in rs])} cpu1k={med([r.get('server_cpu_s_per_1k_msgs') for r in rs])}"
        bad = sum((r.get('lost',0) or 0)+(r.get('duplicated',0) or 0)+(r.get('reordered',0) or 0) for r in rs)
        out += f" bad={bad} vals={[r.get('delivered_per_s', r.get('deliveries_per_s')) for r in rs]} p99s={[r.get('p99_ms') for r in rs]}"
        print(out)
        stg = {}
        for r in rs:
            for k, v in (r.get('stages') or {}).items(): stg.setdefault(k, []).append(v)
        if stg:
            f = lambda x: 'n/a' if x is None else f"{x:.3f}"
            print('   stages p50/p99/p999 ms: ' + '; '.join(f"{k} {f(med([x.get('p50_ms') for x in v]))}/{f(med([x.get('p99_ms') for x in v]))}/{f(med([x.get('p999_ms') for x in v]))}" for k, v in stg.items()))
        if tag in ('population','reconnect'):
            print('   ', json.dumps(rs[0])[:600])

#!/usr/bin/env python3
# Writes the corpus tests/tokenizer/fit_estimate fits the token estimate on (JSON on stdout):
# prompts from data/, this repository's sources and docs, the openai SDK's JavaScript
# (tests/sdk/node_modules), Python's standard library, command output (ls -l, ps aux, git log -p,
# dpkg logs) and generated data (JSON, CSV, tables, ids, blobs), seeded. Texts read from the
# system differ between machines, so figures move a little from one machine to another.
#
#   python3 tests/tokenizer/make-fit-corpus.py > /tmp/corpus.json
import sys
import json, random, glob, os, subprocess, base64, uuid, hashlib
random.seed(31)
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SHARED = os.path.join(ROOT, 'data')
out = []
def add(kind, text):
    if text.strip(): out.append({"kind": kind, "text": text})
def chunks(kind, text, lo=300, hi=2500, limit=60):
    pos = 0; n = 0
    while pos < len(text) and n < limit:
        size = random.randint(lo, hi)
        add(kind, text[pos:pos+size]); pos += size; n += 1
def jsonl(path):
    with open(path) as f:
        return [json.loads(l) for l in f]
dolly = jsonl(SHARED + '/dolly15k/train.jsonl')
random.shuffle(dolly)
for r in dolly[:80]: add('english', r.get('prompt') or r.get('text') or json.dumps(r))
cm = jsonl(SHARED + '/code_math/train.jsonl'); random.shuffle(cm)
for r in cm[:60]: add('code_math_prompt', r.get('prompt',''))
gsm = jsonl(SHARED + '/routellm_gsm8k/train.jsonl'); random.shuffle(gsm)
for r in gsm[:40]: add('math', r.get('prompt',''))
# compact and pretty JSON
for i, r in enumerate(dolly[100:160]):
    add('json_compact', json.dumps(r))
for i, r in enumerate(dolly[160:200]):
    add('json_indent2', json.dumps(r, indent=2))
pk = sorted(glob.glob(ROOT + '/tests/sdk/node_modules/**/package.json', recursive=True)); random.shuffle(pk)
for p in pk[:40]:
    t = open(p).read()
    add('json_pkg', t[:3000])
# nested pretty json with numbers
for i in range(30):
    obj = {"id": i, "items": [{"sku": f"A-{random.randint(100,999)}", "qty": random.randint(1,50), "price": round(random.random()*100,2), "tags": random.sample(["red","blue","sale","new","bulk"], 2)} for _ in range(random.randint(2,8))], "customer": {"name": "Jane Doe", "email": "jane@example.com", "active": True}}
    add('json_indent4', json.dumps(obj, indent=4))
# python
py = sorted(glob.glob('/usr/lib/python3.11/*.py')); random.shuffle(py)
for p in py[:25]: chunks('python', open(p, errors='replace').read(), limit=3)
cpp = sorted(glob.glob(ROOT + '/src/**/*.cpp', recursive=True)); random.shuffle(cpp)
for p in cpp[:25]: chunks('cpp', open(p).read(), limit=3)
js = sorted(glob.glob(ROOT + '/tests/sdk/node_modules/openai/**/*.js', recursive=True)); random.shuffle(js)
for p in js[:25]: chunks('js', open(p, errors='replace').read(), limit=2)
md = sorted(glob.glob(ROOT + '/docs/*.md')); 
for p in md: chunks('markdown', open(p).read(), limit=4)
ym = sorted(glob.glob(ROOT + '/config/**/*.yaml', recursive=True))
for p in ym: chunks('yaml', open(p).read(), limit=4)
def sh(cmd): return subprocess.run(cmd, shell=True, capture_output=True, text=True, errors='replace').stdout
chunks('ls', sh('ls -l /usr/bin /usr/lib/x86_64-linux-gnu | head -3000'), limit=40)
chunks('ps', sh('ps aux'), limit=10)
chunks('diff', sh('cd ' + ROOT + ' && git log -p -n 60 -- src tests docs'), limit=60)
chunks('log', sh('cat /var/log/dpkg.log 2>/dev/null | head -2000; cat /var/log/apt/history.log 2>/dev/null | head -500'), limit=30)
# csv
for i in range(20):
    rows = ["date,region,product,units,revenue"] + [f"2026-{random.randint(1,12):02d}-{random.randint(1,28):02d},{random.choice(['EU','US','APAC'])},{random.choice(['widget','gadget','doohickey'])},{random.randint(1,500)},{random.random()*1e4:.2f}" for _ in range(random.randint(10,60))]
    add('csv', "\n".join(rows))
# markdown tables
for i in range(15):
    rows = ["| name | value | note |", "|------|------:|------|"] + [f"| item{j} | {random.randint(1,9999)} | {random.choice(['ok','late','check this one'])} |" for j in range(random.randint(5,25))]
    add('mdtable', "\n".join(rows))
for i in range(20): add('base64', base64.b64encode(os.urandom(random.randint(60,900))).decode())
for i in range(20): add('hex', " ".join(hashlib.sha256(os.urandom(8)).hexdigest() for _ in range(random.randint(1,12))))
for i in range(20): add('uuid', "\n".join(str(uuid.uuid4()) for _ in range(random.randint(2,20))))
for i in range(20): add('numbers', " ".join(str(random.randint(0,10**random.randint(1,9))) for _ in range(random.randint(10,100))))
# chat-like with blank lines / bullet lists
for r in dolly[200:240]:
    ctx = r.get('prompt','')
    add('bullets', "\n".join(f"- {s.strip()}" for s in ctx.split('.') if s.strip()))

# short prompts, URLs
random.seed(5)
cl = jsonl('/work/shared/data/clinc150_smalltalk/train.jsonl')
random.shuffle(cl)
for r in cl[:60]: add('clinc', r['prompt'])
words = ["api","users","v1","orders","search","items","docs","static","img","auth","callback","en-us","products"]
for i in range(30):
    urls=[]
    for _ in range(random.randint(1,6)):
        path="/".join(random.sample(words, random.randint(1,4)))
        q="&".join(f"{random.choice(words)}={random.randint(1,99999)}" for _ in range(random.randint(0,3)))
        urls.append(f"https://{random.choice(['example.com','api.github.com','docs.python.org','cdn.shop.io'])}/{path}" + (f"?{q}" if q else ""))
    add('urls', " ".join(urls))
# blobs, ids, log lines
random.seed(9)
import string
for i in range(20):
    add('base32', "".join(random.choice(string.ascii_lowercase+"234567") for _ in range(random.randint(30,400))))
for i in range(20):
    add('long_ids', " ".join(str(random.randint(10**9, 10**random.randint(10,20))) for _ in range(random.randint(3,30))))
for i in range(20):
    add('timestamps', "\n".join(f"2026-11-{random.randint(1,28):02d}T{random.randint(0,23):02d}:{random.randint(0,59):02d}:{random.randint(0,59):02d}.{random.randint(0,999):03d}Z INFO request_id={random.randint(10**8,10**9)} latency_ms={random.randint(1,900)}" for _ in range(random.randint(3,20))))
# separator lines and ASCII rules between short lines of text
for i in range(20):
    lines = []
    for _ in range(random.randint(3, 12)):
        lines.append(random.choice("=-*#~_+.") * random.randint(3, 120))
        lines.append(random.choice(["Summary", "step %d done" % random.randint(1, 99), "## Results", "Total: %d" % random.randint(1, 9999)]))
    add('separators', "\n".join(lines))
json.dump(out, sys.stdout)

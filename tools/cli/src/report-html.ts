/**
 * A self-contained HTML timeline report of a run: one lane per trace track (engines, rings,
 * fence timelines, contexts), slices for jobs and commands, ticks for instant events, arrows for
 * fence dependencies, and the validator's findings. Zoom with the wheel, pan by dragging, hover
 * for details. No network: data and code are inlined.
 */
import type { Finding, TraceEvent } from "@drmsim/runtime";
import type { Summary } from "./summary.js";

interface LaneData {
  process: string;
  thread: string;
  slices: [number, number, string, string][]; // ts, dur, name, detail
  instants: [number, string, string][]; // ts, name, detail
}

/** Data the page renders (also handy for tests). */
export interface ReportData {
  title: string;
  seed: number;
  endNs: number;
  lanes: LaneData[];
  flows: [number, number, number, number][]; // fromLane, fromTs, toLane, toTs
  findings: { kind: string; title: string; text: string }[];
  summary: Summary;
}

const MAX_INSTANTS_PER_LANE = 20_000;

/** Turns trace events and findings into the page's data. */
export function buildReportData(
  title: string,
  seed: number,
  endNs: number,
  events: readonly TraceEvent[],
  findings: readonly Finding[],
  summary: Summary,
): ReportData {
  const lanes: LaneData[] = [];
  const index = new Map<string, number>();
  const lane = (e: TraceEvent): number => {
    const key = `${e.track.process}\u0000${e.track.thread}`;
    let i = index.get(key);
    if (i === undefined) {
      i = lanes.length;
      index.set(key, i);
      lanes.push({ process: e.track.process, thread: e.track.thread, slices: [], instants: [] });
    }
    return i;
  };
  const flowStarts = new Map<number, [number, number]>();
  const flows: ReportData["flows"] = [];
  for (const e of events) {
    const detail = e.args === undefined ? "" : JSON.stringify(e.args);
    if (e.ph === "X") lanes[lane(e)]!.slices.push([e.ts, e.dur ?? 0, e.name, detail]);
    else if (e.ph === "i") {
      const l = lanes[lane(e)]!;
      if (l.instants.length < MAX_INSTANTS_PER_LANE) l.instants.push([e.ts, e.name, detail]);
    } else if (e.ph === "s" && e.id !== undefined) flowStarts.set(e.id, [lane(e), e.ts]);
    else if (e.ph === "f" && e.id !== undefined) {
      const s = flowStarts.get(e.id);
      if (s !== undefined) flows.push([s[0], s[1], lane(e), e.ts]);
    }
  }
  lanes.sort((a, b) =>
    a.process === b.process ? a.thread.localeCompare(b.thread) : a.process.localeCompare(b.process),
  );
  // Flows refer to lane indices before sorting: remap.
  const order = new Map(lanes.map((l, i) => [`${l.process}\u0000${l.thread}`, i]));
  const remap = new Map<number, number>();
  for (const [key, i] of index) remap.set(i, order.get(key)!);
  for (const f of flows) {
    f[0] = remap.get(f[0])!;
    f[2] = remap.get(f[2])!;
  }
  return {
    title,
    seed,
    endNs,
    lanes,
    flows,
    findings: findings.map((f) => ({ kind: f.kind, title: f.title, text: f.toString() })),
    summary,
  };
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The report as one HTML document. */
export function renderReportHtml(data: ReportData): string {
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(data.title)} — drmsim report</title>
<style>
body{font:13px system-ui,sans-serif;margin:0;background:#111;color:#ddd}
header{padding:8px 12px;background:#1c1c1c;border-bottom:1px solid #333}
h1{font-size:16px;margin:0 0 4px}
#wrap{display:flex;height:calc(100vh - 250px);min-height:300px}
#labels{width:260px;overflow:hidden;border-right:1px solid #333;background:#161616}
#labels div{height:22px;line-height:22px;padding:0 6px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;border-bottom:1px solid #222}
#view{flex:1;position:relative;overflow:hidden;cursor:grab}
canvas{display:block}
#tip{position:fixed;pointer-events:none;background:#000d;border:1px solid #555;padding:4px 6px;display:none;max-width:480px;white-space:pre-wrap}
#bottom{display:flex;height:250px;border-top:1px solid #333}
#findings,#summary{flex:1;overflow:auto;padding:6px 12px}
.finding{border-left:3px solid #e55;margin:6px 0;padding:2px 8px}
.finding pre{white-space:pre-wrap;font-size:11px;color:#bbb}
.clean{color:#6c6}
</style></head><body>
<header><h1>${esc(data.title)}</h1><span id="meta"></span></header>
<div id="wrap"><div id="labels"></div><div id="view"><canvas id="c"></canvas></div></div>
<div id="bottom"><div id="findings"></div><div id="summary"></div></div>
<div id="tip"></div>
<script id="data" type="application/json">${json}</script>
<script>
(function(){
const D=JSON.parse(document.getElementById('data').textContent);
const LH=22, view=document.getElementById('view'), cv=document.getElementById('c'), cx=cv.getContext('2d');
const labels=document.getElementById('labels'), tip=document.getElementById('tip');
document.getElementById('meta').textContent='seed '+D.seed+' · '+(D.endNs/1e9).toFixed(6)+' s simulated · '+D.lanes.length+' tracks · '+D.findings.length+' findings';
for(const l of D.lanes){const d=document.createElement('div');d.className='lane';d.textContent=l.process+' / '+l.thread;d.title=d.textContent;labels.appendChild(d);}
const fd=document.getElementById('findings');
if(D.findings.length===0){fd.innerHTML='<h3 class="clean">validator: clean</h3>';}
else{const h=document.createElement('h3');h.textContent='validator findings ('+D.findings.length+')';fd.appendChild(h);
 for(const f of D.findings){const e=document.createElement('div');e.className='finding';const t=document.createElement('b');t.textContent='['+f.kind+'] '+f.title;const p=document.createElement('pre');p.textContent=f.text;e.appendChild(t);e.appendChild(p);fd.appendChild(e);}}
const sm=document.getElementById('summary');const rows=[['engines',D.summary.engines.length],['fences signalled',D.summary.fencesSignalled],['fence errors',D.summary.fenceErrors],['fence waits',D.summary.waits]];
for(const e of D.summary.engines)rows.push([e.engine,e.commands+' commands, '+(e.utilisation*100).toFixed(1)+'% busy']);
for(const k in D.summary.extra)rows.push([k,D.summary.extra[k]]);
const tb=document.createElement('table');for(const [k,v] of rows){const tr=document.createElement('tr');const a=document.createElement('td');a.textContent=k;const b=document.createElement('td');b.textContent=String(v);tr.appendChild(a);tr.appendChild(b);tb.appendChild(tr);}sm.appendChild(tb);
let t0=0, span=Math.max(D.endNs,1), y0=0;
function color(name){let h=0;for(let i=0;i<name.length;i++)h=(h*31+name.charCodeAt(i))>>>0;return 'hsl('+(h%360)+',55%,50%)';}
function resize(){cv.width=view.clientWidth;cv.height=view.clientHeight;draw();}
function x(ts){return (ts-t0)/span*cv.width;}
function draw(){cx.fillStyle='#111';cx.fillRect(0,0,cv.width,cv.height);
 cx.font='10px sans-serif';
 D.lanes.forEach((l,i)=>{const y=i*LH-y0;if(y<-LH||y>cv.height)return;cx.fillStyle=i%2?'#151515':'#181818';cx.fillRect(0,y,cv.width,LH);
  for(const s of l.slices){const a=x(s[0]),b=x(s[0]+s[1]);if(b<0||a>cv.width)continue;cx.fillStyle=color(s[2]);cx.fillRect(a,y+3,Math.max(1,b-a),LH-6);if(b-a>40){cx.fillStyle='#000';cx.fillText(s[2],a+2,y+15);}}
  cx.fillStyle='#aaa';for(const s of l.instants){const a=x(s[0]);if(a<0||a>cv.width)continue;cx.fillRect(a,y+LH-6,1,5);}});
 const vis=D.flows.filter(f=>x(f[3])>=0&&x(f[1])<=cv.width);
 if(vis.length<=400){cx.strokeStyle='rgba(255,204,102,0.6)';cx.lineWidth=1;for(const f of vis){cx.beginPath();cx.moveTo(x(f[1]),f[0]*LH-y0+LH/2);cx.lineTo(x(f[3]),f[2]*LH-y0+LH/2);cx.stroke();}}
 else{cx.fillStyle='#fc6';cx.fillText(vis.length+' dependency arrows: zoom in to see them',6,cv.height-6);}
 labels.scrollTop=y0;
}
view.addEventListener('wheel',e=>{e.preventDefault();if(e.shiftKey){y0=Math.max(0,y0+e.deltaY);draw();return;}const r=view.getBoundingClientRect();const at=t0+(e.clientX-r.left)/cv.width*span;const k=e.deltaY>0?1.25:0.8;span=Math.max(10,span*k);t0=at-(e.clientX-r.left)/cv.width*span;draw();},{passive:false});
let drag=null;view.addEventListener('mousedown',e=>{drag={x:e.clientX,y:e.clientY,t0,y0};});
window.addEventListener('mouseup',()=>{drag=null;});
window.addEventListener('mousemove',e=>{if(drag){t0=drag.t0-(e.clientX-drag.x)/cv.width*span;y0=Math.max(0,drag.y0-(e.clientY-drag.y));draw();tip.style.display='none';return;}
 const r=view.getBoundingClientRect();if(e.clientX<r.left||e.clientY<r.top||e.clientX>r.right||e.clientY>r.bottom){tip.style.display='none';return;}
 const li=Math.floor((e.clientY-r.top+y0)/LH),l=D.lanes[li];if(!l){tip.style.display='none';return;}const ts=t0+(e.clientX-r.left)/cv.width*span;
 const s=l.slices.find(s=>s[0]<=ts&&ts<=s[0]+s[1]);if(!s){tip.style.display='none';return;}
 tip.textContent=s[2]+'  '+(s[0]/1e6).toFixed(3)+' ms + '+(s[1]/1e6).toFixed(3)+' ms\\n'+s[3];tip.style.left=(e.clientX+12)+'px';tip.style.top=(e.clientY+12)+'px';tip.style.display='block';});
window.addEventListener('resize',resize);resize();
window.__drmsimReport={lanes:D.lanes.length,findings:D.findings.length,zoom(f){span*=f;draw();},get span(){return span;}};
})();
</script></body></html>
`;
}

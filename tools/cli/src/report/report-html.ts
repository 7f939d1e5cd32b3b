/**
 * The self-contained HTML timeline report of a run: a row per track (a device's rings, job
 * queues and fence timelines; each process's contexts; counters), drawn from one layout for
 * labels and canvas; a time axis in the run's units that follows the zoom; a legend; tooltips
 * that say what a slice is; dependency arrows between the slices they connect; the validator's
 * findings listed with their time, marked on the axis, and zooming there when clicked. Zoom and
 * pan as in Perfetto: W/S, A/D, Ctrl+wheel, Shift+wheel, drag. No network: data and code are
 * inlined.
 */
import { REPORT_CLIENT_JS } from "./report-client.js";
import type { ReportData } from "./report-data.js";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const CSS = `
*{box-sizing:border-box}
body{font:13px system-ui,sans-serif;margin:0;background:#111;color:#ddd;height:100vh;display:flex;flex-direction:column;overflow:hidden}
header{padding:6px 12px;background:#1c1c1c;border-bottom:1px solid #333}
h1{font-size:15px;margin:0 0 2px}
#meta{color:#aaa}
#help{color:#888;font-size:12px;margin-left:12px}
#legend{padding:4px 12px;background:#171717;border-bottom:1px solid #333;font-size:12px;color:#bbb;line-height:20px}
#legend .item{margin-right:14px;white-space:nowrap}
#legend .sw{display:inline-block;width:12px;height:10px;margin-right:5px;vertical-align:-1px;border-radius:2px}
#legend .tick{width:0;height:0;border-left:5px solid transparent;border-right:5px solid transparent;border-bottom:7px solid #ddd;border-radius:0;background:none}
#legend .arrow{height:2px;width:16px;background:#ffcc66;vertical-align:3px}
#legend .counter{height:2px;width:16px;background:#6cb4e4;vertical-align:3px}
#legend .mark-finding{width:0;height:0;border-left:5px solid transparent;border-right:5px solid transparent;border-top:8px solid #e15759;border-radius:0;background:none}
#legend .hatch{background:repeating-linear-gradient(90deg,#333 0 2px,#1a1a1a 2px 8px)}
#timeline{flex:1;display:flex;flex-direction:column;min-height:200px}
#axisrow{display:flex;height:28px;border-bottom:1px solid #333}
#corner{width:260px;flex:none;background:#1a1a1a;border-right:1px solid #333;color:#888;font-size:11px;padding:7px 8px}
#axis{flex:1;position:relative;overflow:hidden}
#axis canvas{position:absolute;left:0;top:0}
#axis .tick{position:absolute;top:2px;font-size:11px;color:#bbb;white-space:nowrap;pointer-events:none}
#body{flex:1;display:flex;min-height:0}
#labels{width:260px;flex:none;overflow:hidden;position:relative;border-right:1px solid #333;background:#161616}
#labelsinner{position:absolute;left:0;right:0;top:0}
#labelsinner div{position:absolute;left:0;right:0;padding:0 8px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;line-height:20px}
#labelsinner .group{background:#1d2230;color:#9fb7e8;font-weight:600;line-height:22px}
#labelsinner .label{padding-left:18px;color:#ccc}
#labelsinner .label.counter{color:#8fc8ee}
#labelsinner .label.hl{background:#3a2a12;color:#ffcf7a;font-weight:600}
#view{flex:1;position:relative;overflow:hidden;cursor:grab}
#view.dragging{cursor:grabbing}
#view canvas{position:absolute;left:0;top:0}
#status{position:absolute;right:0;bottom:0;font-size:11px;color:#aaa;pointer-events:none;text-align:right;background:#111c;padding:2px 8px;max-width:60%}
#tip{position:fixed;pointer-events:none;background:#000e;border:1px solid #555;padding:5px 8px;display:none;max-width:420px;white-space:pre-wrap;font-size:12px;z-index:10}
#bottom{display:flex;height:220px;border-top:1px solid #333;flex:none}
#findings{flex:2;overflow:auto;padding:6px 12px}
#summary{flex:1;overflow:auto;padding:6px 12px;border-left:1px solid #333}
#findings h3{margin:4px 0;font-size:13px}
.finding{border-left:3px solid #e15759;margin:6px 0;padding:2px 8px;cursor:pointer}
.finding.sel{background:#2a1a1a}
.finding .at{color:#e9a;font-size:12px}
.finding pre{white-space:pre-wrap;font-size:11px;color:#bbb;max-height:120px;overflow:auto;margin:4px 0}
.clean{color:#6c6}
td{padding:1px 8px 1px 0;vertical-align:top}
`;

/** The report as one HTML document. */
export function renderReportHtml(data: ReportData): string {
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(data.title)} — drmsim report</title>
<style>${CSS}</style></head><body>
<header><h1>${esc(data.title)}</h1><span id="meta"></span><span id="help">zoom W/S or Ctrl+wheel · pan A/D, Shift+wheel or drag · scroll rows with the wheel · 0 shows the whole run</span></header>
<div id="legend"></div>
<div id="timeline">
<div id="axisrow"><div id="corner">virtual time</div><div id="axis"><canvas id="axisc"></canvas></div></div>
<div id="body"><div id="labels"><div id="labelsinner"></div></div><div id="view"><canvas id="c"></canvas><div id="status"><span id="mode"></span><br><span id="flownote"></span></div></div></div>
</div>
<div id="bottom"><div id="findings"></div><div id="summary"></div></div>
<div id="tip"></div>
<script id="data" type="application/json">${json}</script>
<script>${REPORT_CLIENT_JS}</script></body></html>
`;
}

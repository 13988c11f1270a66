"""PURE: the page's style sheet and script, as text served inline in every page."""

from __future__ import annotations

STYLE = """
:root{color-scheme:light dark;--fg:#1b1b1b;--muted:#555;--bg:#fff;--rule:#ddd;
--link:#0645ad;--note:#fffbe6;--note-rule:#e0c200;--fresh:#eef6ff;--bad:#a40000}
@media (prefers-color-scheme:dark){:root{--fg:#e8e8e8;--muted:#aaa;--bg:#16181c;
--rule:#3a3d44;--link:#8ab4f8;--note:#2d2a14;--note-rule:#8a7a1c;--fresh:#1c2a3d;
--bad:#ff8a80}}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;
max-width:40em;margin:0 auto;padding:1em;color:var(--fg);background:var(--bg)}
header,footer,.meta,.also,.why,.local{color:var(--muted)}
article{border-top:1px solid var(--rule);padding:.75em 0}
article.fresh{background:var(--fresh);margin:0 -.5em;padding:.75em .5em}
article.gone{opacity:.6}
article h2{font-size:1.15em;margin:.2em 0}
.meta,.also{font-size:.9em}
.marker{font-size:.85em;font-weight:600;border:1px solid var(--muted);border-radius:3px;
padding:0 .35em;white-space:nowrap}
.why{font-size:.85em}
.body img,.body video{max-width:100%;height:auto}
#live{position:sticky;top:0;background:var(--note);border:1px solid var(--note-rule);
padding:.5em}
.sources li.failing{color:var(--bad)}
a{color:var(--link)}
"""

# Follows the story's event stream and puts each new or edited entry in its place by
# publication time, marked, without a reload; a deleted one is marked as removed. The
# stream URL comes from a data attribute, so no value is interpolated into script text.
# Entry HTML was sanitised when it was parsed; it is parsed here in an inert document
# and stripped of scripts, frames and event handlers once more before it is shown.
SCRIPT = """
(function(){
var live=document.getElementById("live"),main=document.querySelector("main");
if(!live||!main)return;
var zone=document.body.dataset.timezone,here=Intl.DateTimeFormat().resolvedOptions().timeZone;
var fmt=new Intl.DateTimeFormat(undefined,{day:"numeric",month:"short",year:"numeric",
hour:"2-digit",minute:"2-digit",timeZoneName:"short"});
var storyFmt=new Intl.DateTimeFormat("en-GB",{day:"numeric",month:"short",year:"numeric",
hour:"2-digit",minute:"2-digit",hourCycle:"h23",timeZone:zone});
var zoneFmt=new Intl.DateTimeFormat("en-US",{timeZone:zone,timeZoneName:"short"});
function inStoryZone(d){var name=zoneFmt.formatToParts(d).filter(function(p){
return p.type==="timeZoneName";}).map(function(p){return p.value;})[0]||"";
return storyFmt.format(d).replace(" at ",", ")+" "+name;}
function localTimes(root){if(here===zone)return;
root.querySelectorAll("time[datetime]").forEach(function(t){if(t.dataset.local)return;
var d=new Date(t.getAttribute("datetime"));if(isNaN(d))return;t.dataset.local="1";
var s=document.createElement("span");s.className="local";
s.textContent=" ("+fmt.format(d)+" your time)";t.after(s);});}
var DROP={SCRIPT:1,STYLE:1,IFRAME:1,OBJECT:1,EMBED:1,LINK:1,META:1,BASE:1,FORM:1};
function clean(html){var doc=new DOMParser().parseFromString(html,"text/html");
doc.body.querySelectorAll("*").forEach(function(el){if(DROP[el.tagName]){el.remove();return;}
Array.from(el.attributes).forEach(function(a){var v=a.value.trim().toLowerCase();
if(a.name.indexOf("on")===0||v.indexOf("javascript:")===0)el.removeAttribute(a.name);});});
return Array.from(doc.body.childNodes);}
function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;
if(text!=null)e.textContent=text;return e;}
function stamp(iso){var t=el("time",null,inStoryZone(new Date(iso)));
t.setAttribute("datetime",iso);return t;}
function build(d,label){var a=el("article","fresh");a.dataset.id=d.id;
a.dataset.modified=d.date_modified;a.dataset.published=d.date_published;
var ext=d._aggregator||{},src=ext.source||{},meta=el("p","meta");
meta.append(stamp(d.date_published)," ",el("span","marker",label));
if(ext.time_source==="first-seen"){meta.append(" ",el("span","marker","first seen"),
" ",el("span","why","the source gave no time; this is when we first saw it"));}
meta.append(" \\u00b7 ",(d.authors&&d.authors[0]&&d.authors[0].name)||src.title||src.name||"");
var h=el("h2");if(d.url&&/^https?:/i.test(d.url)){var l=el("a",null,d.title);l.href=d.url;
h.append(l);}else{h.textContent=d.title;}
var body=el("div","body");if(d.content_html){body.append.apply(body,clean(d.content_html));}
else{body.append(el("p",null,d.content_text||""));}
a.append(meta,h,body);localTimes(a);return a;}
function place(a){var mine=a.dataset.published,after=null;
main.querySelectorAll("article[data-id]").forEach(function(o){
if(!after&&o!==a&&o.dataset.published<mine)after=o;});
if(after)main.insertBefore(a,after);else main.append(a);}
var count=0;
function announce(){live.hidden=false;
live.firstChild.textContent=count+(count===1?" update":" updates")+
" arrived since you opened this page, marked below \\u2014 ";}
function on(e){var d;try{d=JSON.parse(e.data);}catch(x){return;}
var old=main.querySelector('article[data-id="'+CSS.escape(d.id)+'"]');
if(e.type==="delete"){if(old){old.classList.add("gone");
old.querySelector(".meta").append(" ",el("span","marker","removed by the source"));}
return;}
if(old&&d.date_modified<=old.dataset.modified)return;
var a=build(d,old?"edited":"new");if(old)old.remove();
var empty=main.querySelector("p.empty");if(empty)empty.remove();
place(a);count++;announce();}
localTimes(document);
if(!window.EventSource)return;
var url=live.dataset.events,last=null;
function track(e){if(e.lastEventId)last=e.lastEventId;on(e);}
function connect(){var s=new EventSource(last?url.replace(/after=[0-9]*/,"after="+last):url);
s.addEventListener("new",track);s.addEventListener("update",track);
s.addEventListener("delete",track);
// A refused stream (503: too many open) is not retried by the browser: try again later.
s.onerror=function(){if(s.readyState===2)setTimeout(connect,30000);};}
connect();
})();
"""

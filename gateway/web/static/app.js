// carehub technician page: the few live parts. Everything works without it except
// live updates; all text comes from data-* attributes the server filled from its
// message catalogues, and every value is inserted with textContent, never as HTML.
"use strict";

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

// A device heard or found: "already added as X", or a link to the form that adds it.
function knownOrAdd(item, knownText, addText) {
  if (item.known_as) return el("span", knownText + " " + item.known_as, "ok");
  const a = el("a", addText, "button primary");
  a.href = item.add_url;
  return a;
}

function statusPage() {
  const list = document.getElementById("events");
  const state = document.getElementById("live-state");
  const source = new EventSource("/events");
  source.onopen = () => { state.textContent = state.dataset.live; };
  source.onerror = () => { state.textContent = state.dataset.lost; };
  source.onmessage = (msg) => {
    const ev = JSON.parse(msg.data);
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    const li = el("li");
    const tm = el("time", ev.ago || ev.when, "rel");
    tm.title = ev.when;
    tm.tabIndex = 0;
    if (ev.wall) tm.dataset.wall = String(Math.round(ev.wall));
    li.append(tm, " ", el("b", ev.device || ""), (ev.room ? " · " + ev.room : "") + " — " + ev.text);
    list.prepend(li);
    while (list.children.length > 50) list.lastElementChild.remove();
  };
  // The person's day at a glance and the hub's summary, rendered (and escaped) by the hub itself.
  setInterval(async () => {
    for (const [id, part] of [["glance", "glance"], ["summary", "summary"]]) {
      const target = document.getElementById(id);
      try {
        const r = await fetch("/status?part=" + part, {credentials: "same-origin"});
        if (r.ok && target && !target.contains(document.activeElement)) target.innerHTML = await r.text();
      } catch (e) { /* the hub restarting: the next round will do */ }
    }
  }, 5000);
}

// "3 min ago" stays true on a page left open: the words come from the catalogue via data-* on <body>.
function relativeTimes() {
  const b = document.body.dataset;
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (m, k) => String(values[k]));
  setInterval(() => {
    const now = Date.now() / 1000;
    for (const tm of document.querySelectorAll("time.rel[data-wall]")) {
      const d = now - Number(tm.dataset.wall);
      if (d < -60 || d >= 7 * 86400) continue;  // the server wrote the date itself
      tm.textContent = d < 60 ? b.tNow : d < 3600 ? fill(b.tMin, {n: Math.floor(d / 60)})
        : d < 86400 ? fill(b.tHour, {h: Math.floor(d / 3600), m: Math.floor((d % 3600) / 60)})
        : fill(b.tDays, {n: Math.floor(d / 86400)});
    }
  }, 30000);
}

// A file input styled as a button: the chosen file's name next to it, in place of the browser's own words.
function fileInputs() {
  for (const input of document.querySelectorAll("input.file-input")) {
    const name = document.getElementById(input.id + "-name");
    input.addEventListener("change", () => {
      name.textContent = input.files.length ? input.files[0].name : name.dataset.none;
    });
  }
}

// Learn mode: the hub groups what it heard (one entry per device, with its guessed kind) and renders
// the list itself; the page only swaps it in when it changed, so a link being tapped stays put.
function learnPage() {
  const state = document.getElementById("learn-state");
  const list = document.getElementById("heard");
  const url = "/devices/learn?part=groups&start=" + encodeURIComponent(state.dataset.start);
  let last = null;
  setInterval(async () => {
    try {
      const r = await fetch(url, {credentials: "same-origin"});
      if (!r.ok) return;
      const html = await r.text();
      if (html !== last) list.innerHTML = html;  // server-rendered and escaped by the hub
      last = html;
    } catch (e) { /* the hub restarting: the next round will do */ }
  }, 1000);
}

function devicesPage() {
  const button = document.getElementById("scan");
  const state = document.getElementById("scan-state");
  const list = document.getElementById("scan-results");
  button.addEventListener("click", async () => {
    button.disabled = true;
    state.textContent = button.dataset.scanning;
    list.replaceChildren();
    try {
      const r = await fetch("/api/scan", {method: "POST", credentials: "same-origin",
                                          headers: {"X-CSRF-Token": button.dataset.csrf}});
      const data = await r.json();
      state.textContent = data.error || (data.found.length ? "" : button.dataset.none);
      for (const f of data.found) {
        const li = el("li");
        li.append(el("b", f.name || f.address), " · " + f.address + (f.rssi !== null ? " · " + Math.round(f.rssi) + " dBm" : ""),
                  el("br"), knownOrAdd(f, button.dataset.known, button.dataset.add));
        list.append(li);
      }
    } catch (e) {
      state.textContent = String(e);
    } finally {
      button.disabled = false;
    }
  });
}

function alarmPage() {
  const card = document.getElementById("alarm");
  if (!card) return;
  const ack = document.getElementById("alarm-ack");
  const timer = setInterval(async () => {
    try {
      const r = await fetch("/api/alerts/" + encodeURIComponent(card.dataset.id), {credentials: "same-origin"});
      if (!r.ok) return;
      const a = await r.json();
      document.getElementById("alarm-state").textContent = a.state_text;
      document.getElementById("alarm-published").textContent = a.published;
      if (a.acked_text) {
        ack.textContent = a.acked_text;
        ack.classList.add("ok");
        clearInterval(timer);
      }
    } catch (e) { /* try again next second */ }
  }, 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  relativeTimes();
  fileInputs();
  const page = document.body.dataset.page;
  if (page === "status") statusPage();
  else if (page === "learn") learnPage();
  else if (page === "devices") devicesPage();
  else if (page === "alarm") alarmPage();
});

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
    li.append(el("time", ev.when), " ", el("b", ev.device || ""), (ev.room ? " · " + ev.room : "") + " — " + ev.text);
    list.prepend(li);
    while (list.children.length > 50) list.lastElementChild.remove();
  };
  const summary = document.getElementById("summary");
  setInterval(async () => {
    try {
      const r = await fetch("/status?part=summary", {credentials: "same-origin"});
      if (r.ok) summary.innerHTML = await r.text();  // server-rendered and escaped by the hub
    } catch (e) { /* the hub restarting: the next round will do */ }
  }, 5000);
}

function learnPage() {
  const state = document.getElementById("learn-state");
  const list = document.getElementById("heard");
  let after = Number(state.dataset.start);
  setInterval(async () => {
    let data;
    try {
      const r = await fetch("/api/heard?after=" + after, {credentials: "same-origin"});
      if (!r.ok) return;
      data = await r.json();
    } catch (e) { return; }
    for (const c of data.codes) {
      after = Math.max(after, c.seq);
      const li = el("li");
      li.append(el("b", c.protocol + " " + c.address + (c.switch ? "/" + c.switch : "")),
                " · " + (c.command || ""), el("br"), el("small", c.when));
      if (c.battery) li.append(el("small", " · " + state.dataset.battery + ": " + c.battery));
      li.append(el("br"), knownOrAdd(c, state.dataset.known, state.dataset.add));
      list.prepend(li);
    }
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
  const page = document.body.dataset.page;
  if (page === "status") statusPage();
  else if (page === "learn") learnPage();
  else if (page === "devices") devicesPage();
  else if (page === "alarm") alarmPage();
});

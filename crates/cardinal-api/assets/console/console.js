// The console's progressive enhancement: every page works without it. With it, copy buttons
// copy, and the live parts (pending SCA sessions, new requests) follow server-sent events.
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  field.select();
  const done = () => { button.textContent = "Copied"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, () => { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});

// The pending SCA list: each `pending` event is the list, drawn by the server (escaped).
function followPending(list) {
  const source = new EventSource(list.dataset.stream);
  source.addEventListener("pending", (event) => { list.innerHTML = event.data; });
}

// The request log: each `request` event is a new first row; `lost` says rows were skipped.
function followRequests(rows) {
  const source = new EventSource(rows.dataset.stream);
  source.addEventListener("request", (event) => {
    rows.insertAdjacentHTML("afterbegin", event.data);
    while (rows.rows.length > 1000) rows.deleteRow(rows.rows.length - 1);
  });
  source.addEventListener("lost", (event) => {
    const note = document.getElementById("requests-lost");
    if (note) note.textContent = event.data + " requests were too many to show live: reload to see them.";
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const pending = document.getElementById("sca-pending");
  if (pending && pending.dataset.stream && window.EventSource) followPending(pending);
  const rows = document.getElementById("request-rows");
  if (rows && rows.dataset.stream && window.EventSource) followRequests(rows);
});

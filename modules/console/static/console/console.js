// The console's own script (no inline script: the Content-Security-Policy forbids it). Every page works
// without it; with it, forms marked data-confirm ask first, and live regions refresh themselves.
"use strict";

// <form data-confirm="Replay 12 messages?">: ask before submitting.
document.addEventListener("submit", (event) => {
  const question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Live regions: <div id="x" data-live-src="/console/..." data-live-topics="records deliveries">.
// One EventSource per page on /console/live, for every topic a region asks for; when an event of a
// region's topic arrives, the region's HTML is fetched again from its src (at most once a second). An
// event that comes while the region is being fetched fetches it once more afterwards (the answer under
// way may predate it). The server may coalesce repeats of an event within half a second, which the one
// second's wait covers; when the stream comes back after a break (the server ends each stream after a
// few minutes), every region is fetched again for what the break missed.
(function liveRegions() {
  const regions = Array.from(document.querySelectorAll("[data-live-src]"));
  if (!regions.length || !window.EventSource) {
    return;
  }
  const topics = new Set();
  regions.forEach((region) => region.dataset.liveTopics.split(/\s+/).forEach((topic) => topic && topics.add(topic)));
  const busy = new Set(); // regions waiting for their second or their answer
  const again = new Set(); // regions asked for while busy

  function refresh(region) {
    if (busy.has(region)) {
      again.add(region);
      return;
    }
    busy.add(region);
    window.setTimeout(() => {
      again.delete(region);
      fetch(region.dataset.liveSrc, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then((answer) => (answer.ok ? answer.text() : Promise.reject(answer.status)))
        .then((html) => { region.innerHTML = html; })
        .catch(() => {})
        .finally(() => {
          busy.delete(region);
          if (again.has(region)) {
            refresh(region);
          }
        });
    }, 1000);
  }

  const source = new EventSource("/console/live?topics=" + encodeURIComponent(Array.from(topics).join(",")));
  const dots = document.querySelectorAll("[data-live-status]");
  let opened = false;
  source.addEventListener("open", () => {
    dots.forEach((dot) => { dot.hidden = false; });
    if (opened) {
      regions.forEach(refresh);
    }
    opened = true;
  });
  source.addEventListener("error", () => dots.forEach((dot) => { dot.hidden = true; }));
  topics.forEach((topic) => {
    source.addEventListener(topic, () => {
      regions.filter((region) => region.dataset.liveTopics.split(/\s+/).includes(topic)).forEach(refresh);
    });
  });
}());

// <button data-copy="input-id" hidden>: shown where the clipboard can be written; copies the input's value.
document.querySelectorAll("[data-copy]").forEach((button) => {
  const input = document.getElementById(button.dataset.copy);
  if (!input || !navigator.clipboard) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", () => {
    navigator.clipboard.writeText(input.value).then(() => { button.textContent = "Copied"; }, () => input.select());
  });
});

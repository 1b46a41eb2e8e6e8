// Small enhancements for the console, without which every page still works: the expiry
// countdown, and copy buttons for the access keys.
"use strict";

function countDown() {
  for (const time of document.querySelectorAll("time[data-expires]")) {
    const left = Number(time.dataset.expires) - Math.floor(Date.now() / 1000);
    if (left <= 0) {
      time.textContent = "now: this role session has ended";
      continue;
    }
    const hours = Math.floor(left / 3600);
    const minutes = Math.floor((left % 3600) / 60);
    const seconds = left % 60;
    const pad = (n) => String(n).padStart(2, "0");
    time.textContent = "in " + (hours > 0 ? hours + " h " : "") + pad(minutes) + " min " + pad(seconds) + " s";
  }
}

function enableCopyButtons() {
  if (!navigator.clipboard) return;
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      await navigator.clipboard.writeText(source.textContent);
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  countDown();
  setInterval(countDown, 1000);
  enableCopyButtons();
});
